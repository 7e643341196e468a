package io.peft4j.benchmarks;

import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.hooks.HookSite;
import io.peft4j.core.hooks.Hooks;
import io.peft4j.core.hub.ModelHub;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.PeftModel;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What selecting an adapter costs a request with N LoRA adapters loaded: a one-row {@link ForwardContext} tagged for one
 * of them (each call the next, round robin) and one {@link Hooks#at(String, Class, ForwardContext)} at every hook site of
 * a model with BERT-base's 123 sites ({@link ServingBenchmarks#narrowBert}, 96 wide: the dispatch does not depend on the
 * width). Run by {@link ServingBenchmarks}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
@Fork(value = 1, jvmArgs = {"-Xmx4g"})
public class AdapterDispatchBenchmark {
    @Param({"1", "10", "100", "1000"})
    public int adapters;

    private Hooks hooks;
    private List<HookSite> sites;
    private List<List<String>> tags;
    private int next;

    @Setup
    public void setup() {
        TransformerModel narrow = ServingBenchmarks.narrowBert(ModelHub.resolve("bert-base-uncased"), ServingBenchmarks.NARROW_HIDDEN);
        PeftModel model = PeftModel.of(narrow);
        tags = new ArrayList<>();
        for (int i = 0; i < adapters; i++) {
            model.add("a" + i, ServingBenchmarks.lora(), i);
            tags.add(List.of("a" + i));
        }
        hooks = narrow.hooks();
        sites = List.copyOf(narrow.hooks().sites());
    }

    /** The hooks found at every site for one request (returned, so that the work is not optimised away). */
    @Benchmark
    public int selectAtEverySite() {
        ForwardContext ctx = new ForwardContext(1, tags.get(next), false, 0);
        next = (next + 1) % tags.size();
        int found = 0;
        for (HookSite s : sites) found += hooks.at(s.name(), s.kind().hookType(), ctx).size();
        return found;
    }
}
