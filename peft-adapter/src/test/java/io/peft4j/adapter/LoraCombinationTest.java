package io.peft4j.adapter;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.adapter.ia3.Ia3Config;
import io.peft4j.adapter.lora.LoraCombination;
import io.peft4j.adapter.lora.LoraCombination.CombinationType;
import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.Fixtures;
import io.peft4j.core.io.Json;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.PeftModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static io.peft4j.adapter.LoraTest.logits;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Hugging Face PEFT's {@code add_weighted_adapter} for LoRA, against references computed here from the source tensors
 * in plain double loops: CAT's change is the weighted sum of the sources' changes, LINEAR's factors are HF's weighted
 * sums of the A's and B's, SVD's change is the best rank-k approximation of the weighted sum.
 */
class LoraCombinationTest {
    private static final int[] IDS = Fixtures.ints(Fixtures.expected("gpt2-tiny").get("input_ids"));
    private static final String C_ATTN = "h.1.attn.c_attn", C_PROJ = "h.0.attn.c_proj";
    private static final String[] SITES = {"h.0.attn.c_attn", "h.1.attn.c_attn", "h.0.attn.c_proj", "h.1.attn.c_proj"};

    private static PeftModel gpt2() {
        return PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), DataType.DOUBLE), "gpt2-tiny");
    }

    /** {@code a}: r 2, alpha 4 (s = 2) on c_attn; {@code b}: r 3, alpha 3 with rsLoRA (s = √3) on c_attn and attn.c_proj; {@code c}: r 2, alpha 8 (s = 4). */
    private static PeftModel withSources() {
        PeftModel m = gpt2();
        Fixtures.randomise(m.add("a", LoraConfig.defaults().withR(2).withAlpha(4).withTargetModules("c_attn"), 1), 11);
        Fixtures.randomise(m.add("b", LoraConfig.defaults().withR(3).withAlpha(3).withRslora(true).withTargetModules("c_attn", "attn.c_proj"), 2), 12);
        Fixtures.randomise(m.add("c", LoraConfig.defaults().withR(2).withAlpha(8).withTargetModules("c_attn"), 3), 13);
        return m;
    }

    private static double[][] a(Adapter x, String site) {
        return x.parameters().get(site + ".lora_A.weight").value().toDoubleMatrix();
    }

    private static double[][] b(Adapter x, String site) {
        return x.parameters().get(site + ".lora_B.weight").value().toDoubleMatrix();
    }

    private static boolean on(Adapter x, String site) {
        return x.parameters().containsKey(site + ".lora_A.weight");
    }

    /** {@code s·B·A} {@code [out, in]} in double loops. */
    private static double[][] change(double[][] b, double[][] a, double s) {
        double[][] d = new double[b.length][a[0].length];
        for (int o = 0; o < b.length; o++) {
            for (int i = 0; i < a[0].length; i++) {
                double v = 0;
                for (int k = 0; k < a.length; k++) v += b[o][k] * a[k][i];
                d[o][i] = s * v;
            }
        }
        return d;
    }

    /** {@code Σ w_j·s_j·B_j·A_j} over the sources installed on {@code site}, with the scalings written out. */
    private static double[][] weightedChange(PeftModel m, String site, List<String> names, double[] w) {
        double[][] sum = null;
        for (int j = 0; j < names.size(); j++) {
            Adapter x = m.adapter(names.get(j));
            if (!on(x, site)) continue;
            double s = switch (x.name()) {
                case "a" -> 4.0 / 2;
                case "b" -> 3 / Math.sqrt(3);
                default -> 8.0 / 2;
            };
            double[][] d = change(b(x, site), a(x, site), w[j] * s);
            if (sum == null) sum = d;
            else for (int o = 0; o < d.length; o++) for (int i = 0; i < d[0].length; i++) sum[o][i] += d[o][i];
        }
        return sum;
    }

    private static double maxDiff(double[][] x, double[][] y) {
        double worst = 0;
        for (int i = 0; i < x.length; i++) for (int j = 0; j < x[0].length; j++) worst = Math.max(worst, Math.abs(x[i][j] - y[i][j]));
        return worst;
    }

    private static double[][] combinedChange(Adapter combined, String site) {
        LoraConfig cfg = (LoraConfig) combined.config();
        return change(b(combined, site), a(combined, site), cfg.alpha() / cfg.r());
    }

    @Test
    void catChangeIsExactlyTheWeightedSumOfTheSourcesChanges() {
        PeftModel m = withSources();
        Adapter cat = LoraCombination.addWeighted(m, List.of("a", "b"), List.of(0.7, -0.4), "cat", CombinationType.CAT, null);
        LoraConfig cfg = (LoraConfig) cat.config();
        assertThat(cfg.r()).isEqualTo(5);
        assertThat(cfg.alpha()).isEqualTo(5);
        assertThat(cfg.useRslora()).isFalse();
        assertThat(cfg.targetModules()).containsExactly("c_attn", "attn.c_proj");
        assertThat(a(cat, C_ATTN).length).isEqualTo(5);
        for (String site : SITES) {
            assertThat(maxDiff(combinedChange(cat, site), weightedChange(m, site, List.of("a", "b"), new double[]{0.7, -0.4}))).as(site).isLessThan(1e-12);
        }
    }

    /** The combined adapter alone computes what a base carrying the weighted change in its weights (added by hand) computes. */
    @Test
    void catLogitsEqualABaseWithTheWeightedChangeAddedByHand() {
        PeftModel m = withSources();
        LoraCombination.addWeighted(m, List.of("a", "b", "c"), List.of(0.5, 1.2, -0.8), "cat", CombinationType.CAT, null);
        m.setActive("cat");
        INDArray combined = logits(m, IDS);
        PeftModel byHand = gpt2();
        for (String site : SITES) {
            double[][] d = weightedChange(m, site, List.of("a", "b", "c"), new double[]{0.5, 1.2, -0.8});
            INDArray w = byHand.base().parameters().get(site + ".weight").value();     // [in, out]
            for (int o = 0; o < d.length; o++) for (int i = 0; i < d[0].length; i++) w.putScalar(i, o, w.getDouble(i, o) + d[o][i]);
        }
        INDArray expected = logits(byHand, IDS);
        assertThat(combined.sub(expected).amaxNumber().doubleValue()).isLessThan(1e-9);
        assertThat(expected.sub(logits(gpt2(), IDS)).amaxNumber().doubleValue()).as("the change matters").isGreaterThan(1e-2);
    }

    @Test
    void linearFactorsAreHuggingFacesWeightedSumsWithTheSignOnA() {
        PeftModel m = withSources();
        double[] w = {0.6, -1.5};
        Adapter lin = LoraCombination.addWeighted(m, List.of("a", "c"), List.of(w[0], w[1]), "lin", CombinationType.LINEAR, null);
        assertThat(((LoraConfig) lin.config()).r()).isEqualTo(2);
        assertThat(((LoraConfig) lin.config()).alpha()).isEqualTo(2);
        double[] c = {w[0] * 2, w[1] * 4};     // w_j·s_j
        for (String site : new String[]{"h.0.attn.c_attn", C_ATTN}) {
            double[][] a1 = a(m.adapter("a"), site), a2 = a(m.adapter("c"), site), b1 = b(m.adapter("a"), site), b2 = b(m.adapter("c"), site);
            double[][] ea = new double[a1.length][a1[0].length], eb = new double[b1.length][b1[0].length];
            for (int k = 0; k < a1.length; k++) {
                for (int i = 0; i < a1[0].length; i++) ea[k][i] = Math.sqrt(0.6 * 2) * a1[k][i] - Math.sqrt(1.5 * 4) * a2[k][i];
            }
            for (int o = 0; o < b1.length; o++) for (int k = 0; k < b1[0].length; k++) eb[o][k] = Math.sqrt(Math.abs(c[0])) * b1[o][k] + Math.sqrt(Math.abs(c[1])) * b2[o][k];
            assertThat(maxDiff(a(lin, site), ea)).as(site).isLessThan(1e-12);
            assertThat(maxDiff(b(lin, site), eb)).as(site).isLessThan(1e-12);
        }
    }

    /** One adapter is reweighted linearly, as in HF: a weight of -1 negates its change, whatever the type asked for. */
    @Test
    void oneAdapterIsReweightedLinearly() {
        PeftModel m = withSources();
        Adapter neg = LoraCombination.addWeighted(m, List.of("b"), List.of(-1.0), "neg", CombinationType.SVD, 1);
        assertThat(((LoraConfig) neg.config()).r()).isEqualTo(3);
        for (String site : SITES) {
            double[][] own = change(b(m.adapter("b"), site), a(m.adapter("b"), site), -Math.sqrt(3));
            assertThat(maxDiff(combinedChange(neg, site), own)).as(site).isLessThan(1e-12);
        }
    }

    @Test
    void svdAtRankAtLeastTheSumOfRanksIsTheWeightedChange() {
        PeftModel m = withSources();
        Adapter svd = LoraCombination.addWeighted(m, List.of("a", "b"), List.of(0.7, -0.4), "svd", CombinationType.SVD, 5);
        assertThat(((LoraConfig) svd.config()).r()).isEqualTo(5);
        for (String site : SITES) {
            assertThat(maxDiff(combinedChange(svd, site), weightedChange(m, site, List.of("a", "b"), new double[]{0.7, -0.4}))).as(site).isLessThan(1e-5);
        }
    }

    /**
     * Below the sum of the ranks (default: the largest source rank, 3): the change keeps the 3 largest singular values of
     * the weighted change and is orthogonal to the rest, so its error is the energy of the others (Eckart-Young). Singular
     * values here come from a Jacobi eigen-decomposition of ΔWᵀΔW written in the test.
     */
    @Test
    void svdBelowTheSumOfRanksIsTheBestApproximationOfThatRank() {
        PeftModel m = withSources();
        Adapter svd = LoraCombination.addWeighted(m, List.of("a", "b", "c"), List.of(0.7, -0.4, 0.25), "svd", CombinationType.SVD, null);
        assertThat(((LoraConfig) svd.config()).r()).isEqualTo(3);
        for (String site : new String[]{"h.0.attn.c_attn", C_ATTN}) {
            double[][] full = weightedChange(m, site, List.of("a", "b", "c"), new double[]{0.7, -0.4, 0.25});
            double[][] approx = combinedChange(svd, site);
            double[] sigma = singularValues(full), mine = singularValues(approx);
            assertThat(sigma[3]).as("the weighted change has rank above 3").isGreaterThan(1e-3);
            for (int i = 0; i < 3; i++) assertThat(mine[i]).as("%s: singular value %d", site, i).isCloseTo(sigma[i], org.assertj.core.data.Offset.offset(1e-8 * sigma[0]));
            assertThat(mine[3]).as("rank 3 (a zero singular value through the Gram matrix is √ε-accurate)").isLessThan(1e-6 * sigma[0]);
            double rest = 0, err = 0;
            for (int i = 3; i < sigma.length; i++) rest += sigma[i] * sigma[i];
            for (int o = 0; o < full.length; o++) for (int i = 0; i < full[0].length; i++) err += Math.pow(full[o][i] - approx[o][i], 2);
            assertThat(err).as("%s: squared Frobenius error", site).isCloseTo(rest, org.assertj.core.data.Offset.offset(1e-9 * sigma[0] * sigma[0]));
        }
    }

    /** Singular values of {@code x [m, n]}, descending: square roots of the eigenvalues of {@code xᵀx} by cyclic Jacobi rotations. */
    private static double[] singularValues(double[][] x) {
        int n = x[0].length;
        double[][] g = new double[n][n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) for (double[] row : x) g[i][j] += row[i] * row[j];
        for (int sweep = 0; sweep < 100; sweep++) {
            double off = 0;
            for (int p = 0; p < n; p++) for (int q = p + 1; q < n; q++) off += g[p][q] * g[p][q];
            if (off < 1e-30) break;
            for (int p = 0; p < n; p++) {
                for (int q = p + 1; q < n; q++) {
                    if (Math.abs(g[p][q]) < 1e-300) continue;
                    double theta = (g[q][q] - g[p][p]) / (2 * g[p][q]);
                    double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    if (theta == 0) t = 1;
                    double c = 1 / Math.sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < n; k++) {          // columns p, q
                        double gp = g[k][p], gq = g[k][q];
                        g[k][p] = c * gp - s * gq;
                        g[k][q] = s * gp + c * gq;
                    }
                    for (int k = 0; k < n; k++) {          // rows p, q
                        double gp = g[p][k], gq = g[q][k];
                        g[p][k] = c * gp - s * gq;
                        g[q][k] = s * gp + c * gq;
                    }
                }
            }
        }
        double[] sv = new double[n];
        for (int i = 0; i < n; i++) sv[i] = Math.sqrt(Math.max(0, g[i][i]));
        Arrays.sort(sv);
        for (int i = 0; i < n / 2; i++) {
            double t = sv[i];
            sv[i] = sv[n - 1 - i];
            sv[n - 1 - i] = t;
        }
        return sv;
    }

    /** The combination saves as an ordinary HF PEFT LoRA adapter whose config carries its r and alpha, and loads back alone. */
    @Test
    void combinedAdapterSavesWithItsRankAndAlphaAndLoadsBackAlone(@TempDir Path tmp) {
        PeftModel m = withSources();
        LoraCombination.addWeighted(m, List.of("a", "b"), List.of(1.0, 0.5), "both", CombinationType.CAT, null);
        m.setActive("both");
        INDArray before = logits(m, IDS);
        m.save(tmp.resolve("saved"));
        JsonNode cfg = Json.read(tmp.resolve("saved/both/adapter_config.json"));
        assertThat(cfg.get("peft_type").asText()).isEqualTo("LORA");
        assertThat(cfg.get("r").asInt()).isEqualTo(5);
        assertThat(cfg.get("lora_alpha").asInt()).isEqualTo(5);
        assertThat(cfg.get("use_rslora").asBoolean()).isFalse();
        List<String> targets = new ArrayList<>();
        cfg.get("target_modules").forEach(t -> targets.add(t.asText()));
        assertThat(targets).containsExactly("c_attn", "attn.c_proj");
        PeftModel back = gpt2();
        back.load(tmp.resolve("saved/both"), "both");
        assertThat(logits(back, IDS).sub(before).amaxNumber().doubleValue()).isLessThan(1e-12);
    }

    /** The example of {@link LoraCombination}'s Javadoc and of docs/methods.md, on the HF PEFT fixture loaded twice. */
    @Test
    void documentedExampleRuns(@TempDir Path tmp) {
        Path out = tmp.resolve("out");
        Path dir = Fixtures.dir("gpt2-tiny-lora");
        PeftModel model = PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT));
        model.load(dir, "math");
        model.load(dir, "code");
        Adapter both = LoraCombination.addWeighted(model, List.of("math", "code"), List.of(0.7, 0.3), "both",
                LoraCombination.CombinationType.CAT, null);
        model.setActive("both");
        model.save(out);
        // the same adapter twice with weights summing to 1: the fixture's own logits
        PeftModel one = PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT));
        one.load(dir, "default");
        assertThat(logits(model, IDS).sub(logits(one, IDS)).amaxNumber().doubleValue()).isLessThan(1e-5);
        assertThat(((LoraConfig) both.config()).r()).isEqualTo(8);
    }

    @Test
    void eachMistakeIsOneClearErrorAndInstallsNothing() {
        PeftModel m = withSources();
        m.add("ia3", Ia3Config.defaults());
        Fixtures.randomise(m.add("layer0", LoraConfig.defaults().withR(2).withTargetModules("c_attn").withLayers(0), 4), 14);
        assertThatThrownBy(() -> LoraCombination.addWeighted(m, List.of("a", "zzz"), List.of(1.0, 1.0), "x", CombinationType.CAT, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no adapter named 'zzz'");
        assertThatThrownBy(() -> LoraCombination.addWeighted(m, List.of("a", "ia3"), List.of(1.0, 1.0), "x", CombinationType.CAT, null))
                .hasMessageContaining("'ia3' (IA3) is not a LoRA adapter").hasMessageContaining("only LoRA adapters combine");
        assertThatThrownBy(() -> LoraCombination.addWeighted(m, List.of("a", "b"), List.of(1.0, 1.0), "x", CombinationType.LINEAR, null))
                .hasMessageContaining("one rank").hasMessageContaining("'a' has r 2").hasMessageContaining("'b' r 3");
        assertThatThrownBy(() -> LoraCombination.addWeighted(m, List.of("a", "b"), List.of(1.0), "x", CombinationType.CAT, null))
                .hasMessageContaining("1 weights for 2 adapters");
        assertThatThrownBy(() -> LoraCombination.addWeighted(m, List.of("a", "layer0"), List.of(1.0, 1.0), "x", CombinationType.CAT, null))
                .hasMessageContaining("differ in layers_to_transform").hasMessageContaining("null vs [0]");
        assertThatThrownBy(() -> LoraCombination.addWeighted(m, List.of("a", "b"), List.of(1.0, 1.0), "x", CombinationType.SVD, 33))
                .hasMessageContaining("svd rank 33 exceeds").hasMessageContaining("at most 32");
        assertThatThrownBy(() -> LoraCombination.addWeighted(m, List.of("a", "b"), List.of(1.0, 1.0), "a", CombinationType.CAT, null))
                .hasMessageContaining("'a' is already installed");
        assertThat(m.adapters().stream().map(Adapter::name)).containsExactly("a", "b", "c", "ia3", "layer0");
    }
}
