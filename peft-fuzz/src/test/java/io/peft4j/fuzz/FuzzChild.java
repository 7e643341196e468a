package io.peft4j.fuzz;

import io.peft4j.core.PeftException;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The forked JVM that runs cases: {@code FuzzChild <seeds> <case-list> <first> <work> <keep>}. For each case id
 * of the list from index {@code first} on, it writes the mutated files into a fresh directory, prints
 * {@code @@START id<TAB>mutation} (flushed), loads and runs the files, and prints
 * {@code @@END id<TAB>verdict<TAB>category<TAB>detail}. A JVM crash between the two lines is blamed on that
 * case by {@link FuzzHarness}. After an {@link Error} (out of memory, stack overflow) it exits with status 3
 * so that the next case starts in a fresh JVM.
 */
public final class FuzzChild {
    /** Verdicts: loaded and ran; rejected as the case expects; anything else. */
    static final String OK = "OK", REJECTED = "REJECTED", FAIL = "FAIL";

    private FuzzChild() {
    }

    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
        System.setOut(System.err);            // library output must not mix with the protocol
        Path seeds = Path.of(args[0]);
        List<String> ids = Files.readAllLines(Path.of(args[1]));
        int first = Integer.parseInt(args[2]);
        Path work = Path.of(args[3]);
        boolean keep = Boolean.parseBoolean(args[4]);
        for (int i = first; i < ids.size(); i++) {
            String id = ids.get(i);
            Path dir = work.resolve(caseDirName(id));
            deleteTree(dir);
            Cases.Prepared p;
            try {
                p = Cases.prepare(id, seeds, dir);
            } catch (Exception e) {
                out.println("@@START " + id + "\t(could not prepare)");
                out.println("@@END " + id + "\t" + FAIL + "\tharness error\t" + oneLine(e.toString()));
                continue;
            }
            out.println("@@START " + id + "\t" + oneLine(p.description()));
            String[] phase = {"load"};
            Throwable thrown = null;
            try {
                p.kind().action().run(dir, new FileKind.Env() {
                    @Override
                    public Path seeds() {
                        return seeds;
                    }

                    @Override
                    public void running() {
                        phase[0] = "run";
                    }
                });
            } catch (Throwable t) {
                thrown = t;
            }
            String[] verdict = judge(thrown, phase[0], p.expect(), dir, seeds);
            out.println("@@END " + id + "\t" + verdict[0] + "\t" + verdict[1] + "\t" + oneLine(verdict[2]));
            if (!keep) deleteTree(dir);
            if (thrown instanceof Error) System.exit(3);
        }
    }

    /** {verdict, category, detail} of a case that threw {@code t} (null: it loaded and ran) in {@code phase}. */
    static String[] judge(Throwable t, String phase, Cases.Expect x, Path dir, Path seeds) {
        if (t == null) {
            return x.mustReject() ? new String[]{FAIL, "accepted an invalid file", "loaded and ran without an error"}
                    : new String[]{OK, "", ""};
        }
        // the case directory itself (a message naming a directory) becomes <case>: its name, e.g. a regression's
        // "regression_template.json-...", must not pass for the file name the message has to contain
        String msg = String.valueOf(t.getMessage()).replace(dir.toAbsolutePath() + "/", "").replace(dir + "/", "")
                .replace(dir.toAbsolutePath().toString(), "<case>").replace(dir.toString(), "<case>")
                .replace(seeds.toAbsolutePath() + "/", "<seeds>/").replace(seeds + "/", "<seeds>/");
        String where = " [" + phase + "]" + frame(t);
        if (x.mustLoad()) return new String[]{FAIL, "rejected a valid file", t.getClass().getSimpleName() + ": " + msg + where};
        if (!(t instanceof PeftException)) return new String[]{FAIL, t.getClass().getSimpleName(), msg + where};
        if (!msg.contains(x.file())) return new String[]{FAIL, "PeftException not naming " + x.file(), msg + where};
        if (x.atLoad() && phase.equals("run")) return new String[]{FAIL, "rejected when running, not at load", msg + where};
        for (String f : x.fragments()) {
            if (!Pattern.compile(f).matcher(msg).find()) return new String[]{FAIL, "message lacks /" + f + "/", msg + where};
        }
        for (String f : x.forbidden()) {
            if (Pattern.compile(f).matcher(msg).find()) return new String[]{FAIL, "message matches /" + f + "/", msg + where};
        }
        return new String[]{REJECTED, "", msg};
    }

    /** The first peft4j frame of the stack (where the library let it through). */
    private static String frame(Throwable t) {
        for (StackTraceElement e : t.getStackTrace()) {
            if (e.getClassName().equals(PeftException.class.getName())) continue;
            if (e.getClassName().startsWith("io.peft4j.core") || e.getClassName().startsWith("io.peft4j.adapter")
                    || e.getClassName().startsWith("io.peft4j.prompt") || e.getClassName().startsWith("io.peft4j.prefix")) {
                return " at " + e;
            }
        }
        return t.getStackTrace().length > 0 ? " at " + t.getStackTrace()[0] : "";
    }

    /** The directory a case's files are written to (and kept in, with {@code -Dpeft4j.fuzz.keep=true}). */
    static String caseDirName(String id) {
        return id.replaceAll("[^A-Za-z0-9._+-]", "_");
    }

    /** {@code s} on one line, runs of a repeated unit (huge test strings) shortened, at most 600 chars. */
    static String oneLine(String s) {
        String l = (s.length() > 4000 ? s.substring(0, 4000) : s).replace('\t', ' ').replace("\r", "").replace("\n", " | ")
                .replaceAll("(.{1,3}?)\\1{10,}", "$1$1$1...");
        return l.length() <= 600 ? l : l.substring(0, 597) + "...";
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
