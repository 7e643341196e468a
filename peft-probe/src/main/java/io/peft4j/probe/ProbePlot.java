package io.peft4j.probe;

import io.peft4j.core.PeftException;
import io.peft4j.core.head.Pooling;
import io.peft4j.core.io.AtomicFiles;
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
import java.nio.file.Path;
import java.util.List;

/**
 * The accuracy-by-layer chart of a {@link ProbeResult}, drawn with XChart: one line per probe and pooling
 * (x = hidden-state index, 0 = embeddings; y = dev accuracy) and the majority baseline as a dashed line.
 * Rendering is headless: no window or display is needed.
 */
final class ProbePlot {
    static {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    private ProbePlot() {
    }

    static XYChart chart(ProbeResult r, int width, int height) {
        XYChart chart = new XYChartBuilder().width(width).height(height)
                .title("Probe accuracy by layer" + (r.model().isEmpty() ? "" : ": " + r.model()))
                .xAxisTitle("layer (0 = embeddings)").yAxisTitle("dev accuracy (" + r.devExamples() + " examples)").build();
        var st = chart.getStyler();
        st.setLegendPosition(Styler.LegendPosition.OutsideS);
        st.setLegendLayout(Styler.LegendLayout.Horizontal);
        st.setChartBackgroundColor(Color.WHITE);
        st.setXAxisDecimalPattern("0");
        st.setYAxisDecimalPattern("0.00");
        st.setMarkerSize(7);
        List<Integer> layers = r.layers();
        double[] xs = layers.stream().mapToDouble(Integer::doubleValue).toArray();
        double min = r.majorityAccuracy(), max = r.majorityAccuracy();
        for (String probe : r.probes()) {
            for (Pooling p : r.poolings()) {
                double[] ys = layers.stream().mapToDouble(l -> r.score(l, p, probe).accuracy()).toArray();
                for (double y : ys) {
                    min = Math.min(min, y);
                    max = Math.max(max, y);
                }
                XYSeries s = chart.addSeries(probe + ", " + p.name(), xs, ys);
                s.setMarker(p == Pooling.MEAN ? SeriesMarkers.SQUARE : p == Pooling.LAST ? SeriesMarkers.DIAMOND : SeriesMarkers.CIRCLE);
                if (probe.equals(LayerScore.MLP)) s.setLineStyle(SeriesLines.DOT_DOT);
            }
        }
        double lo = xs.length == 1 ? xs[0] - 0.5 : xs[0], hi = xs.length == 1 ? xs[0] + 0.5 : xs[xs.length - 1];
        XYSeries base = chart.addSeries("majority baseline", new double[]{lo, hi}, new double[]{r.majorityAccuracy(), r.majorityAccuracy()});
        base.setMarker(SeriesMarkers.NONE);
        base.setLineStyle(SeriesLines.DASH_DASH);
        base.setLineColor(Color.GRAY);
        st.setYAxisMin(Math.max(0, Math.floor(min * 20 - 1) / 20));
        st.setYAxisMax(Math.min(1, Math.ceil(max * 20 + 1) / 20));
        return chart;
    }

    static BufferedImage render(ProbeResult r, int width, int height) {
        if (width < 200 || height < 150) throw new PeftException("a plot of " + width + " x " + height + " pixels is too small (at least 200 x 150)");
        if (r.scores().isEmpty()) throw new PeftException("no scores to plot");
        return BitmapEncoder.getBufferedImage(chart(r, width, height));
    }

    static void write(ProbeResult r, Path png, int width, int height) {
        BufferedImage img = render(r, width, height);
        AtomicFiles.write(png, ch -> {
            OutputStream out = Channels.newOutputStream(ch);
            if (!ImageIO.write(img, "png", out)) throw new IOException("no PNG writer");
            out.flush();
        });
    }
}
