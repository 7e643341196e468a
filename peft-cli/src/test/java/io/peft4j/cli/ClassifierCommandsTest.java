package io.peft4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static io.peft4j.cli.CliTest.M;
import static io.peft4j.cli.CliTest.RES;
import static io.peft4j.cli.CliTest.run;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The prompt-based classification commands end to end on the tiny BERT fixture (train with a template and a
 * verbalizer, eval, predict, zero-shot, probe) and their bad input; zero-shot on the real BERT-base on words
 * whose sentiment anyone can check.
 */
class ClassifierCommandsTest {
    /** The tiny BERT with a word-piece vocabulary ({@code good} 5, {@code bad} 6), and 12 + 12 examples a head or the mask's words can tell apart. */
    static Path tinyBert(Path tmp) throws Exception {
        Path model = Files.createDirectories(tmp.resolve("bert"));
        for (String f : new String[]{"config.json", "model.safetensors"}) Files.copy(RES.resolve("fixtures/bert-tiny/" + f), model.resolve(f));
        List<String> vocab = new java.util.ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "film", "it", "was"));
        while (vocab.size() < 101) vocab.add("w" + vocab.size());
        Files.write(model.resolve("vocab.txt"), vocab);
        StringBuilder data = new StringBuilder();
        for (int i = 0; i < 24; i++) {
            data.append(i % 2 == 0 ? "{\"id\": \"p" + i + "\", \"text\": \"good film w9\", \"label\": \"pos\"}\n"
                    : "{\"id\": \"n" + i + "\", \"text\": \"bad film w11\", \"label\": \"neg\"}\n");
        }
        Files.writeString(tmp.resolve("train.jsonl"), data);
        return model;
    }

    @Test
    void aTemplateAndVerbalizerTrainFewShotIntoADirectoryThatEvalAndPredictUse(@TempDir Path tmp) throws Exception {
        Path model = tinyBert(tmp), out = tmp.resolve("out");
        String data = tmp.resolve("train.jsonl").toString();
        CliTest.Result r = run("train", "--model", model.toString(), "--data", data, "--dev", data, "--shots", "4", "--seed", "3",
                "--template", "{text} it was {mask} .", "--verbalizer", "pos=good;neg=bad", "--method", "lora", "--r", "4",
                "--epochs", "15", "--batch-size", "8", "--lr", "5e-2", "--output", out.toString(), "--no-progress");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode o = M.readTree(r.out());
        assertThat(o.get("examples").asInt()).isEqualTo(8);                                  // 4 per label
        assertThat(o.get("classifier").asText()).isEqualTo("template+verbalizer");
        assertThat(o.get("trainable_params").asLong()).isEqualTo(2L * 2 * 4 * (32 + 32));    // LoRA on query, value; no head
        assertThat(o.get("dev_accuracy").asDouble()).isEqualTo(1.0);
        for (String f : new String[]{"adapter_config.json", "adapter_model.safetensors", "template.json", "verbalizer.json", "task.json", "metrics.json"}) {
            assertThat(out.resolve(f)).as(f).exists();
        }
        assertThat(out.resolve("head_config.json")).doesNotExist();
        JsonNode task = M.readTree(out.resolve("task.json").toFile());
        assertThat(task.get("labels").toString()).isEqualTo("[\"pos\",\"neg\"]");               // the verbalizer's order
        assertThat(task.get("training").get("examples").asInt()).isEqualTo(8);
        assertThat(M.readTree(out.resolve("metrics.json").toFile()).get("dev").get("accuracy").asDouble()).isEqualTo(1.0);

        CliTest.Result eval = run("eval", "--model", model.toString(), "--adapter", out.toString(), "--data", data, "--json", "--no-progress");
        assertThat(eval.code()).as(eval.err()).isZero();
        JsonNode rep = M.readTree(eval.out());
        assertThat(rep.get("accuracy").asDouble()).isEqualTo(1.0);
        assertThat(rep.get("n").asInt()).isEqualTo(24);
        assertThat(rep.get("per_class").get("pos").get("support").asInt()).isEqualTo(12);
        assertThat(rep.get("confusion").toString()).isEqualTo("[[12,0],[0,12]]");

        Path in = tmp.resolve("in.jsonl");
        Files.writeString(in, "{\"id\": \"x\", \"text\": \"good film\"}\n\n{\"text\": \"bad film\"}\n");
        CliTest.Result pred = run("predict", "--model", model.toString(), "--adapter", out.toString(), "--input", in.toString(), "--json");
        assertThat(pred.code()).as(pred.err()).isZero();
        List<String> lines = pred.out().lines().toList();
        assertThat(lines).hasSize(2);
        JsonNode first = M.readTree(lines.get(0)), second = M.readTree(lines.get(1));
        assertThat(first.get("id").asText()).isEqualTo("x");
        assertThat(first.get("label").asText()).isEqualTo("pos");
        assertThat(second.get("label").asText()).isEqualTo("neg");
        double sum = 0;
        for (JsonNode p : first.get("probabilities")) sum += p.asDouble();
        assertThat(sum).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-9));
        CliTest.Result text = run("predict", "--model", model.toString(), "--adapter", out.toString(), "--input", in.toString());
        assertThat(text.out().lines().toList()).hasSize(2).allMatch(l -> l.matches("(pos|neg)\t0\\.\\d{4}"));

        Files.writeString(in, "{\"text\": \"good film\"}\n{\"body\": \"bad film\"}\n");
        CliTest.Result bad = run("predict", "--model", model.toString(), "--adapter", out.toString(), "--input", in.toString(), "--json");
        assertThat(bad.code()).isEqualTo(1);
        assertThat(bad.out().lines().toList()).hasSize(1);                                     // what came before the bad line was classified
        assertThat(bad.err()).contains("in.jsonl: line 2: no field 'text' (the line has: body)").doesNotContain("\tat ");
        CliTest.Result notADir = run("eval", "--model", model.toString(), "--adapter", model.toString(), "--data", data);
        assertThat(notADir.err()).contains("not a trained classifier (no task.json");
    }

    @Test
    void aHeadOnTheTextSavesItsLabelsAndEncodingSoEvalNeedsNothingElse(@TempDir Path tmp) throws Exception {
        Path model = tinyBert(tmp), out = tmp.resolve("head");
        String data = tmp.resolve("train.jsonl").toString();
        CliTest.Result r = run("train", "--model", model.toString(), "--data", data, "--method", "ia3", "--epochs", "8", "--batch-size", "8",
                "--lr", "5e-2", "--max-length", "16", "--truncation", "start", "--output", out.toString(), "--no-progress");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode task = M.readTree(out.resolve("task.json").toFile());
        assertThat(task.get("max_length").asInt()).isEqualTo(16);
        assertThat(task.get("truncation").asText()).isEqualTo("start");
        assertThat(task.get("method").asText()).isEqualTo("ia3");
        CliTest.Result eval = run("eval", "--adapter", out.toString(), "--model", model.toString(), "--data", data, "--json", "--no-progress");
        assertThat(eval.code()).as(eval.err()).isZero();
        assertThat(M.readTree(eval.out()).get("accuracy").asDouble()).isEqualTo(1.0);
        CliTest.Result table = run("eval", "--adapter", out.toString(), "--model", model.toString(), "--data", data, "--no-progress");
        assertThat(table.out()).contains("macro-F1").contains("confusion (rows: gold, columns: predicted)");
    }

    @Test
    void zeroShotReportsBesideTheMajorityBaselineAndEveryCalibration(@TempDir Path tmp) throws Exception {
        Path model = tinyBert(tmp);
        String data = tmp.resolve("train.jsonl").toString();
        for (String cal : new String[]{"none", "content-free", "unlabelled"}) {
            CliTest.Result r = run("zero-shot", "--model", model.toString(), "--data", data, "--template", "{text} it was {mask} .",
                    "--verbalizer", "pos=good;neg=bad", "--calibrate", cal, "--json", "--no-progress");
            assertThat(r.code()).as(r.err()).isZero();
            JsonNode o = M.readTree(r.out());
            assertThat(o.get("n").asInt()).isEqualTo(24);
            assertThat(o.get("calibration").asText()).isEqualTo(cal);
            assertThat(o.get("majority_baseline").get("accuracy").asDouble()).isEqualTo(0.5);    // 12 and 12
            // a random tiny model sees only two distinct inputs: every input of a class gets the same answer
            assertThat(o.get("accuracy").asDouble()).isIn(0.0, 0.5, 1.0);
            if (cal.equals("none")) assertThat(o.get("uncalibrated").get("accuracy").asDouble()).isEqualTo(o.get("accuracy").asDouble());
        }
    }

    @Test
    void badPromptInputGivesOneLineErrors(@TempDir Path tmp) throws Exception {
        Path model = tinyBert(tmp);
        String data = tmp.resolve("train.jsonl").toString(), m = model.toString();
        assertThat(run("zero-shot", "--model", m, "--data", data, "--template", "{text} {mask}").err()).contains("zero-shot needs --template and --verbalizer");
        assertThat(run("zero-shot", "--model", m, "--data", data, "--template", "{text} it was", "--verbalizer", "pos=good;neg=bad").err())
                .contains("has no {mask}: a masked LM reads its answer at the mask");
        String missing = tmp.resolve("missing.json").toString();
        assertThat(run("zero-shot", "--model", m, "--data", data, "--template", "{text} {mask}", "--verbalizer", missing).err().strip())
                .isEqualTo("peft zero-shot: error: --verbalizer: " + missing + ": no such file");
        assertThat(run("zero-shot", "--model", m, "--data", data, "--template", missing, "--verbalizer", "pos=good;neg=bad").err().strip())
                .isEqualTo("peft zero-shot: error: --template: " + missing + ": no such file");
        assertThat(run("zero-shot", "--model", m, "--data", data, "--template", "{text} {mask}", "--verbalizer", "pos=splendid;neg=bad").err())
                .contains("splendid");
        assertThat(run("zero-shot", "--model", m, "--data", data, "--template", "{text} {mask}", "--verbalizer", "pos=good;neutral=film;neg=bad").err())
                .contains("the verbalizer's label 'neutral' never occurs in the data");
        assertThat(run("zero-shot", "--model", m, "--data", data, "--template", "{text} {mask}", "--verbalizer", "pos=good;other=film").err())
                .contains("label 'neg' has no words in the verbalizer");
        assertThat(run("zero-shot", "--model", m, "--data", data, "--template", "{title} {mask}", "--verbalizer", "pos=good;neg=bad").err())
                .contains("{title}");
        assertThat(run("zero-shot", "--model", m, "--data", data, "--template", "{field:title} {mask}", "--verbalizer", "pos=good;neg=bad").err())
                .contains("train.jsonl").contains("title");
        assertThat(run("zero-shot", "--model", m, "--data", data, "--template", "{text} {mask}", "--verbalizer", "pos=good;neg=bad", "--calibrate", "magic").err())
                .contains("--calibrate: 'magic' is not none, content-free or unlabelled");
        CliTest.Result shots = run("train", "--model", m, "--data", data, "--shots", "13", "--method", "lora");
        assertThat(shots.code()).isEqualTo(1);
        assertThat(shots.err()).contains("13-shot sample").contains("has only 12");
        assertThat(run("train", "--model", m, "--data", data, "--verbalizer", "pos=good;neg=bad", "--method", "lora").err())
                .contains("--verbalizer needs --template");
        // saving replaces the --output directory: one that holds the model or the data is refused before training
        CliTest.Result overModel = run("train", "--model", m, "--data", data, "--method", "lora", "--output", tmp.toString());
        assertThat(overModel.code()).isEqualTo(1);
        assertThat(overModel.err()).contains("--output " + tmp + " holds the model directory");
        assertThat(model.resolve("config.json")).exists();
        Path sub = java.nio.file.Files.createDirectories(tmp.resolve("data"));
        java.nio.file.Files.copy(Path.of(data), sub.resolve("train.jsonl"));
        CliTest.Result overData = run("train", "--model", m, "--data", sub.resolve("train.jsonl").toString(), "--method", "lora", "--output", sub.toString());
        assertThat(overData.err()).contains("holds the training data");
        assertThat(sub.resolve("train.jsonl")).exists();
        for (String e : List.of(shots.err(), overModel.err(), overData.err())) assertThat(e).doesNotContain("\tat ");
    }

    @Test
    void probeWritesItsTableJsonAndPlotAndReadsTheCacheTheSecondTime(@TempDir Path tmp) throws Exception {
        Path model = tinyBert(tmp), png = tmp.resolve("layers.png");
        String data = tmp.resolve("train.jsonl").toString();
        String[] args = {"probe", "--model", model.toString(), "--data", data, "--dev", data, "--cache-dir", tmp.resolve("cache").toString(),
                "--json", "--plot", png.toString(), "--no-progress"};
        CliTest.Result r = run(args);
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode o = M.readTree(r.out());
        assertThat(o.toString()).contains("\"from_cache\":false");
        assertThat(o.get("results").size()).isEqualTo(3 * 2);                                  // layers 0..2, CLS and mean, the linear probe
        var image = ImageIO.read(new ByteArrayInputStream(Files.readAllBytes(png)));
        assertThat(image.getWidth()).isPositive();
        CliTest.Result again = run(args);
        assertThat(M.readTree(again.out()).toString()).contains("\"from_cache\":true");
        assertThat(run("probe", "--model", model.toString(), "--data", data, "--layers", "0,x").err()).contains("--layers");
        assertThat(run("probe", "--model", model.toString(), "--data", data, "--pooling", "max").err()).contains("--pooling: 'max' is not cls, mean or last");
    }

    @Test
    void mineSearchesLabelWordsOrRanksTemplatesAndRefusesBadInput(@TempDir Path tmp) throws Exception {
        Path model = tinyBert(tmp);
        String data = tmp.resolve("train.jsonl").toString(), m = model.toString();
        CliTest.Result words = run("mine", "--model", m, "--data", data, "--template", "{text} it was {mask} .", "--words", "2", "--json");
        assertThat(words.code()).as(words.err()).isZero();
        JsonNode w = M.readTree(words.out());
        assertThat(w.toString()).contains("\"neg\"").contains("\"pos\"");
        Path extra = tmp.resolve("templates.txt");
        Files.writeString(extra, "# mine\n{text} it was {mask} .\n\n{mask} : {text}\n");
        CliTest.Result t = run("mine", "--model", m, "--data", data, "--dev", data, "--templates", extra.toString(), "--no-builtin-templates",
                "--verbalizer", "pos=good;neg=bad", "--json", "--no-progress");
        assertThat(t.code()).as(t.err()).isZero();
        assertThat(M.readTree(t.out()).toString()).contains("{text} it was {mask} .").contains("{mask} : {text}");
        assertThat(run("mine", "--model", m, "--data", data, "--verbalizer", "pos=good;neg=bad").err()).contains("ranks templates on --dev");
        assertThat(run("mine", "--model", m, "--data", data, "--template", "{text} {mask}", "--templates", extra.toString()).err())
                .contains("--template searches label words for that template");
        Files.writeString(extra, "{text} it was {mask} .\n{text} {mask\n");
        CliTest.Result bad = run("mine", "--model", m, "--data", data, "--dev", data, "--templates", extra.toString(), "--verbalizer", "pos=good;neg=bad");
        assertThat(bad.code()).isEqualTo(1);
        assertThat(bad.err()).contains("templates.txt").contains("line 2").doesNotContain("\tat ");
    }

    /**
     * Zero-shot on the real BERT-base, words whose sentiment anyone can check: 20 plainly positive and 20 plainly negative
     * adjectives, "{text}. It was {mask}." with great/terrible. Measured first: 0.90 both uncalibrated and with the content-free
     * calibration (every positive word right, 4 of the negative ones called positive); the test asserts 0.85, well above
     * the majority baseline's 0.5.
     */
    @Test
    void zeroShotOnTheRealBertBaseGetsPlainSentimentWordsRight(@TempDir Path tmp) throws Exception {
        String[] pos = {"wonderful", "excellent", "superb", "delightful", "brilliant", "lovely", "marvelous", "fantastic", "splendid", "magnificent",
                "pleasant", "enjoyable", "charming", "beautiful", "perfect", "amazing", "terrific", "outstanding", "glorious", "admirable"};
        String[] neg = {"awful", "horrible", "dreadful", "disgusting", "miserable", "terrible", "appalling", "atrocious", "hideous", "nasty",
                "unpleasant", "painful", "boring", "ugly", "disappointing", "annoying", "pathetic", "gross", "lousy", "tragic"};
        StringBuilder sb = new StringBuilder();
        for (String w : pos) sb.append("{\"text\": \"").append(w).append("\", \"label\": \"positive\"}\n");
        for (String w : neg) sb.append("{\"text\": \"").append(w).append("\", \"label\": \"negative\"}\n");
        Path f = tmp.resolve("words.jsonl");
        Files.writeString(f, sb, StandardCharsets.UTF_8);
        CliTest.Result r = run("zero-shot", "--model", "bert-base-uncased", "--data", f.toString(), "--template", "{text}. It was {mask}.",
                "--verbalizer", "positive=great;negative=terrible", "--calibrate", "content-free", "--json", "--no-progress");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode o = M.readTree(r.out());
        assertThat(o.get("majority_baseline").get("accuracy").asDouble()).isEqualTo(0.5);
        assertThat(o.get("accuracy").asDouble()).isGreaterThanOrEqualTo(0.85);
        assertThat(o.get("uncalibrated").get("accuracy").asDouble()).isGreaterThanOrEqualTo(0.85);
    }
}
