package io.peft4j.demo;

import io.peft4j.core.Machine;

import io.peft4j.core.io.AtomicFiles;
import io.peft4j.core.io.Json;
import org.knowm.xchart.AnnotationText;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.SeriesMarkers;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The demo's reports: the table (one row per method, for the console and {@code results.md}), {@code results.json}
 * and {@code results.png} (dev accuracy against trainable-parameter %, log axis, a labelled point per method that
 * trains part of the model; the baselines that train none of it as lines across). Files are written atomically.
 *
 * <pre>{@code
 * Path md = Reports.write(Path.of("peft-demo"), plan, settings.describe(trainSize, devSize), rows);
 * }</pre>
 */
public final class Reports {
    static {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    /** The table's columns. */
    public static final List<String> COLUMNS = List.of("method", "trainable params", "trainable %", "dev accuracy", "macro-F1", "training time", "peak memory");

    private Reports() {
    }

    /** A method's title ({@link DemoMethod#title()}), or its name when it is not one of {@link DemoMethods#ALL}. */
    public static String title(Row r) {
        return DemoMethods.ALL.stream().filter(m -> m.name().equals(r.method())).map(DemoMethod::title).findFirst().orElse(r.method());
    }

    /** The row's cells, in {@link #COLUMNS}' order. */
    public static List<String> cells(Row r) {
        String pct = Double.isNaN(r.trainablePercent()) ? "-" : percent(r.trainablePercent());
        return List.of(title(r), String.format(Locale.ROOT, "%,d", r.trainableParams()), pct, String.format(Locale.ROOT, "%.4f", r.accuracy()),
                String.format(Locale.ROOT, "%.4f", r.macroF1()), r.trainSeconds() > 0 ? duration(r.trainSeconds()) : "-",
                r.peakRssMb() == null ? "n/a" : String.format(Locale.ROOT, "%,.0f MB", r.peakRssMb()));
    }

    static String percent(double p) {
        if (p == 0) return "0%";
        if (p >= 10) return String.format(Locale.ROOT, "%.0f%%", p);
        if (p >= 0.1) return String.format(Locale.ROOT, "%.2f%%", p);
        return String.format(Locale.ROOT, "%.2g%%", p);
    }

    /** Seconds as {@code 12.3 s} or {@code 4 min 05 s} or {@code 1 h 02 min}. */
    public static String duration(double s) {
        if (s < 60) return String.format(Locale.ROOT, "%.1f s", s);
        long t = Math.round(s);
        if (t < 3600) return String.format(Locale.ROOT, "%d min %02d s", t / 60, t % 60);
        return String.format(Locale.ROOT, "%d h %02d min", t / 3600, (t % 3600) / 60);
    }

    /** Writes results.md, results.json and results.png into {@code dir}; returns results.md's path. */
    public static Path write(Path dir, Plan plan, String settings, List<Row> rows) {
        Path md = dir.resolve("results.md");
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("model", plan.model());
        json.put("task", plan.task().name());
        json.put("settings_description", settings);
        json.put("plan", plan.toJson());
        json.put("machine", Machine.describe());
        json.put("rows", rows.stream().map(Row::toJson).toList());
        Json.write(dir.resolve("results.json"), json);
        writeChart(dir.resolve("results.png"), plan, rows, 1000, 640);
        AtomicFiles.write(md, markdown(plan, settings, rows).getBytes(StandardCharsets.UTF_8));
        return md;
    }

    /** The report as Markdown: what ran, the settings, the table, what each method trains, the chart. */
    static String markdown(Plan plan, String settings, List<Row> rows) {
        StringBuilder b = new StringBuilder();
        b.append("# peft demo: ").append(plan.task().name()).append(" with ").append(plan.model()).append("\n\n");
        b.append("Every way of adapting the frozen model, compared on the same training examples and scored on the same dev examples. ")
                .append(settings).append(".\n\n");
        b.append('|');
        for (String c : COLUMNS) b.append(' ').append(c).append(" |");
        b.append("\n|---|");
        b.append("---:|".repeat(COLUMNS.size() - 1)).append('\n');
        for (Row r : rows) b.append("| ").append(String.join(" | ", cells(r))).append(" |\n");
        b.append("\nTrainable % is of the adapted model's parameters (base, method and head), as Hugging Face PEFT counts them; the ")
                .append("baselines that use no model have none. Training time excludes loading and scoring; peak memory is the peak resident set ")
                .append("of the JVM that ran the method alone (loading the model included).\n\n");
        b.append("| method | what it trains | details |\n|---|---|---|\n");
        for (Row r : rows) b.append("| ").append(title(r)).append(" | ").append(r.trains()).append(" | ").append(details(r)).append(" |\n");
        b.append("\n![dev accuracy against trainable parameters](results.png)\n\n");
        b.append("Machine: ").append(Machine.line(Machine.describe())).append(".\n");
        return b.toString();
    }

    private static String details(Row r) {
        List<String> parts = new ArrayList<>();
        r.details().forEach((k, v) -> {
            if (k.equals("dev_report")) return;
            parts.add(k.replace('_', ' ') + " " + (v instanceof Double d ? String.format(Locale.ROOT, "%.4g", d) : String.valueOf(v)));
        });
        return String.join("; ", parts).replace("|", "\\|");
    }

    /**
     * Where each point's label goes, in the chart's coordinates: {start, end} in log10 of x and the height y of its
     * middle. A label starts just right of its point (ends just left of it where the axis would cut it), at the point's
     * height; where that box would run into a label placed before or cover another point's marker, it moves a label
     * height lower or higher, alternately, then tries the other side of its point.
     *
     * @param xs     the points' x (trainable %), in ascending order
     * @param ys     their y (accuracy)
     * @param chars  the labels' lengths in characters
     * @param decade pixels per decade of the x axis
     * @param dy     a label's height in y units (also a marker's)
     */
    static double[][] placeLabels(double[] xs, double[] ys, int[] chars, double loX, double hiX, double decade, double dy) {
        double charPx = 7.2, gap = 9 / decade, marker = 6 / decade;      // a marker's half-width, in decades
        double[][] placed = new double[xs.length][];
        for (int i = 0; i < xs.length; i++) {
            double at = Math.log10(xs[i]), w = chars[i] * charPx / decade;
            boolean rightFits = at + gap + w <= Math.log10(hiX), leftFits = at - gap - w >= Math.log10(loX);
            double[] choice = null, first = null;
            for (int side = 0; side < 2 && choice == null; side++) {
                boolean right = (side == 0) == (rightFits || !leftFits);
                double start = right ? at + gap : at - gap - w, end = start + w;
                for (int k = 0; k < 9; k++) {
                    double y = ys[i] + (k % 2 == 1 ? -1 : 1) * dy * ((k + 1) / 2);
                    if (first == null) first = new double[]{start, end, y};
                    if (free(placed, i, xs, ys, marker, start, end, y, dy)) {
                        choice = new double[]{start, end, y};
                        break;
                    }
                }
            }
            placed[i] = choice != null ? choice : first;
        }
        return placed;
    }

    /** Whether a label box [start, end] x (y ± dy/2) misses the labels placed before label {@code i} and every other point's marker. */
    private static boolean free(double[][] placed, int i, double[] xs, double[] ys, double marker, double start, double end, double y, double dy) {
        for (int j = 0; j < i; j++) if (start < placed[j][1] && placed[j][0] < end && Math.abs(placed[j][2] - y) < dy) return false;
        for (int j = 0; j < xs.length; j++) {
            double at = Math.log10(xs[j]);
            if (j != i && start < at + marker && at - marker < end && Math.abs(ys[j] - y) < dy) return false;
        }
        return true;
    }

    /** The chart: dev accuracy against trainable % (log axis), a labelled point per method that trains part of the model, the others as lines. */
    static XYChart chart(Plan plan, List<Row> rows, int width, int height) {
        XYChart chart = new XYChartBuilder().width(width).height(height)
                .title("peft demo: " + plan.task().name() + " with " + plan.model())
                .xAxisTitle("trainable parameters (% of the model, log scale)").yAxisTitle("dev accuracy").build();
        var st = chart.getStyler();
        st.setChartBackgroundColor(Color.WHITE);
        st.setLegendPosition(Styler.LegendPosition.OutsideS);
        st.setLegendLayout(Styler.LegendLayout.Horizontal);
        st.setXAxisLogarithmic(true);
        st.setYAxisDecimalPattern("0.00");
        st.setMarkerSize(9);
        List<Row> points = rows.stream().filter(r -> r.allParams() > 0 && r.trainableParams() > 0).toList();
        List<Row> lines = rows.stream().filter(r -> !points.contains(r)).toList();
        double lo = 1e-3, hi = 100;
        if (!points.isEmpty()) {
            lo = points.stream().mapToDouble(Row::trainablePercent).min().orElseThrow() / 3;
            hi = Math.min(300, points.stream().mapToDouble(Row::trainablePercent).max().orElseThrow() * 3);
        }
        double ymin = rows.stream().mapToDouble(Row::accuracy).min().orElse(0), ymax = rows.stream().mapToDouble(Row::accuracy).max().orElse(1);
        ymin = Math.max(0, Math.floor(ymin * 20 - 1) / 20);
        ymax = Math.min(1.01, Math.ceil(ymax * 20 + 0.5) / 20);      // an accuracy axis ends at 1 (and a little, for a point on it)
        st.setYAxisMin(ymin);
        st.setYAxisMax(ymax);
        st.setXAxisMin(lo);
        st.setXAxisMax(hi);
        double pxPerDecade = (width - 140) / Math.log10(hi / lo);
        List<Row> byX = new ArrayList<>(points);
        byX.sort(java.util.Comparator.comparingDouble(Row::trainablePercent));
        double[][] at = placeLabels(byX.stream().mapToDouble(Row::trainablePercent).toArray(), byX.stream().mapToDouble(Row::accuracy).toArray(),
                byX.stream().mapToInt(r -> title(r).length()).toArray(), lo, hi, pxPerDecade, (ymax - ymin) * 0.035);
        for (int i = 0; i < byX.size(); i++) {
            Row r = byX.get(i);
            XYSeries s = chart.addSeries(title(r), new double[]{r.trainablePercent()}, new double[]{r.accuracy()});
            s.setMarker(SeriesMarkers.CIRCLE);
            s.setShowInLegend(false);
            chart.addAnnotation(new AnnotationText(title(r), Math.pow(10, (at[i][0] + at[i][1]) / 2), at[i][2], false));
        }
        Color[] colors = {Color.GRAY, new Color(0xB0, 0x40, 0x40), new Color(0x40, 0x70, 0xB0)};
        int c = 0;
        for (Row r : lines) {
            XYSeries s = chart.addSeries(title(r) + String.format(Locale.ROOT, " (%.3f)", r.accuracy()), new double[]{lo, hi}, new double[]{r.accuracy(), r.accuracy()});
            s.setMarker(SeriesMarkers.NONE);
            s.setLineStyle(SeriesLines.DASH_DASH);
            s.setLineColor(colors[c++ % colors.length]);
        }
        if (rows.isEmpty()) {
            XYSeries s = chart.addSeries("no results", new double[]{lo, hi}, new double[]{0, 0});
            s.setMarker(SeriesMarkers.NONE);
        }
        return chart;
    }

    static void writeChart(Path png, Plan plan, List<Row> rows, int width, int height) {
        BufferedImage img = BitmapEncoder.getBufferedImage(chart(plan, rows, width, height));
        AtomicFiles.write(png, ch -> {
            OutputStream out = Channels.newOutputStream(ch);
            if (!ImageIO.write(img, "png", out)) throw new IOException("no PNG writer");
            out.flush();
        });
    }
}
