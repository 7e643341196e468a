package io.peft4j.demo;

import io.peft4j.core.PeftException;
import io.peft4j.core.io.Json;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The child JVM of {@link MethodRunner#forked()}: runs one method of a plan and writes its row (with this JVM's peak
 * resident set) to a file. Standard output carries progress and error lines for the parent; logs go to stderr.
 *
 * <pre>
 * java -cp ... io.peft4j.demo.DemoWorker PLAN.json METHOD ROW.json [CHECKPOINTS]
 * </pre>
 * With {@code CHECKPOINTS}, a trained method keeps its training's checkpoints there and continues from them
 * ({@link DemoContext#checkpoints()}).
 */
public final class DemoWorker {
    static final String PROGRESS = "@@demo-progress ", ERROR = "@@demo-error ";

    private DemoWorker() {
    }

    public static void main(String[] args) {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        if (args.length != 3 && args.length != 4) {
            out.println(ERROR + "usage: DemoWorker PLAN.json METHOD ROW.json [CHECKPOINTS]");
            System.exit(2);
        }
        try {
            Plan plan = Plan.read(Path.of(args[0]));
            DemoMethod method = DemoMethods.byName(args[1]);
            long[] last = {0};
            DemoContext ctx = DemoContext.load(plan, (stage, done, total) -> {
                long now = System.nanoTime();
                if (done < total && now - last[0] < 200_000_000L) return;     // at most 5 lines a second, and always the last
                last[0] = now;
                out.println(PROGRESS + stage.replace('\t', ' ') + "\t" + done + "\t" + total);
            });
            if (args.length == 4) ctx.checkpoints(Path.of(args[3]));
            Row row = method.run(ctx).with(PeakMemory.megabytes(), "");
            Json.write(Path.of(args[2]), row.toJson());
            out.flush();
            System.exit(0);
        } catch (PeftException e) {
            out.println(ERROR + oneLine(e.getMessage()));
            System.exit(1);
        } catch (OutOfMemoryError e) {
            out.println(ERROR + "out of memory (" + e.getMessage() + "): give the JVM more with PEFT4J_JAVA_OPTS=-Xmx16g");
            System.exit(1);
        } catch (Throwable e) {
            e.printStackTrace();
            out.println(ERROR + oneLine(e.getClass().getSimpleName() + ": " + e.getMessage()));
            System.exit(1);
        }
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("\\s*\\R\\s*", " ");
    }
}
