package io.peft4j.cli;

import io.peft4j.core.PeftException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/**
 * The {@code peft} command. Results go to stdout (with {@code --json}, JSON only); logs and errors go to
 * stderr. Bad input ends with a one-line message and a non-zero exit, never a stack trace.
 */
@Command(name = "peft", mixinStandardHelpOptions = true, version = "peft4j 0.1.0",
        description = "Parameter-efficient fine-tuning for the JVM.",
        subcommands = {DemoCommand.class, FillMaskCommand.class, TokenizeCommand.class, GenerateCommand.class, LogitsCommand.class,
                ParamsCommand.class, TrainCommand.class, DatasetsCommand.class, ZeroShotCommand.class, EvalCommand.class, PredictCommand.class, ProbeCommand.class, MineCommand.class,
                InstructCommand.class, MergeCommand.class, ServeCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
    }

    public static void main(String[] args) {
        configureLogging(args);
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Logs at warn by default (info with -v/--verbose), to stderr. Must run before any logger exists. */
    static void configureLogging(String[] args) {
        boolean verbose = java.util.Arrays.asList(args).contains("-v") || java.util.Arrays.asList(args).contains("--verbose");
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", verbose ? "info" : "warn");
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
    }

    /** Runs the command line; returns the exit code. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            String msg = ex instanceof PeftException ? ex.getMessage()
                    : ex instanceof IllegalArgumentException ? ex.getMessage()
                    : ex.getClass().getSimpleName() + ": " + ex.getMessage();
            err.println("peft " + cmd.getCommandName() + ": error: " + msg);
            if (System.getenv("PEFT4J_DEBUG") != null) ex.printStackTrace(err);
            err.flush();
            return 1;
        });
        int code;
        try {
            code = cl.execute(args);
        } catch (OutOfMemoryError e) {
            // picocli passes Errors through; a user gets one line, not a stack trace
            err.println("peft: error: out of memory (" + e.getMessage() + "): give the JVM more with PEFT4J_JAVA_OPTS=-Xmx16g, or use smaller batches");
            code = 1;
        }
        out.flush();
        err.flush();
        return code;
    }
}
