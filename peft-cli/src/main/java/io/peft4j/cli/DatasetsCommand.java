package io.peft4j.cli;

import io.peft4j.core.data.BuiltinDataset;
import io.peft4j.core.data.Datasets;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.util.LinkedHashMap;
import java.util.Map;

@Command(name = "datasets", mixinStandardHelpOptions = true,
        description = "Lists the built-in datasets that --data NAME (train split) and --dev NAME (dev split) accept, with their licences.")
final class DatasetsCommand implements Runnable {
    @Option(names = "--json", description = "One JSON object per line: {\"name\", \"text_fields\", \"label_field\", \"labels\", \"description\", \"licence\"}.")
    boolean json;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        var out = spec.commandLine().getOut();
        for (String name : Datasets.builtinNames()) {
            BuiltinDataset d = Datasets.builtin(name);
            if (json) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("name", name);
                o.put("text_fields", d.spec().textFields());
                o.put("label_field", d.spec().labelField());
                o.put("labels", d.labels());
                o.put("description", d.description());
                o.put("licence", d.licence());
                out.println(Common.json(o));
            } else {
                out.printf("%-18s text: %-13s labels: %s%n    %s%n    licence: %s%n", name, String.join(",", d.spec().textFields()),
                        String.join(", ", d.labels()), d.description(), d.licence());
            }
        }
        out.flush();
    }
}
