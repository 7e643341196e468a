package io.peft4j.probe;

/**
 * Limited-memory BFGS (Nocedal and Wright, Numerical Optimization, 2nd ed., algorithms 7.4 and 7.5) with a
 * backtracking line search on the Armijo condition (quadratic interpolation, step halved at least), for smooth
 * convex objectives such as regularized logistic regression. Deterministic.
 */
final class Lbfgs {
    private Lbfgs() {
    }

    /** A differentiable objective: returns f(x) and writes ∇f(x) into {@code grad}. */
    @FunctionalInterface
    interface Objective {
        double evaluate(double[] x, double[] grad);
    }

    /** Called after every iteration with the new point; returning true stops the minimization. */
    @FunctionalInterface
    interface Monitor {
        boolean stop(int iteration, double[] x, double f);
    }

    /**
     * @param x          the last point
     * @param f          its objective value
     * @param gradNorm   the largest |∂f/∂x_i| there
     * @param iterations iterations done
     * @param converged  whether the gradient fell below the tolerance
     */
    record Result(double[] x, double f, double gradNorm, int iterations, boolean converged) {
    }

    static final double ARMIJO = 1e-4;

    /**
     * Minimizes {@code f} from {@code x0} until max|∇f| ≤ {@code gradTolerance}, {@code maxIterations}
     * iterations, the monitor says stop, or the line search can no longer decrease f (at the precision of f).
     */
    static Result minimize(Objective f, double[] x0, int memory, int maxIterations, double gradTolerance, Monitor monitor) {
        int n = x0.length;
        double[] x = x0.clone(), g = new double[n];
        double fx = f.evaluate(x, g);
        double[][] s = new double[memory][], y = new double[memory][];
        double[] rho = new double[memory], alpha = new double[memory];
        int stored = 0, newest = -1;
        double[] d = new double[n], xn = new double[n], gn = new double[n];
        int it = 0;
        while (it < maxIterations && maxAbs(g) > gradTolerance) {
            // d = -H g by the two-loop recursion over the stored pairs, newest first
            for (int i = 0; i < n; i++) d[i] = -g[i];
            for (int k = 0; k < stored; k++) {
                int j = Math.floorMod(newest - k, memory);
                alpha[j] = rho[j] * dot(s[j], d);
                axpy(-alpha[j], y[j], d);
            }
            if (stored > 0) scale(dot(s[newest], y[newest]) / dot(y[newest], y[newest]), d);
            for (int k = stored - 1; k >= 0; k--) {
                int j = Math.floorMod(newest - k, memory);
                double beta = rho[j] * dot(y[j], d);
                axpy(alpha[j] - beta, s[j], d);
            }
            double gd = dot(g, d);
            if (!(gd < 0)) {                      // not a descent direction (numerical trouble): restart from steepest descent
                stored = 0;
                for (int i = 0; i < n; i++) d[i] = -g[i];
                gd = -dot(g, g);
            }
            double step = stored == 0 ? Math.min(1.0, 1.0 / Math.sqrt(-gd)) : 1.0;
            double fn = Double.NaN;
            double slack = 1e-13 * Math.max(1, Math.abs(fx));   // f's own rounding near the optimum
            boolean accepted = false;
            for (int tries = 0; tries < 60; tries++) {
                for (int i = 0; i < n; i++) xn[i] = x[i] + step * d[i];
                fn = f.evaluate(xn, gn);
                if (fn <= fx + ARMIJO * step * gd + slack) {
                    accepted = true;
                    break;
                }
                double q = Double.isFinite(fn) ? -gd * step * step / (2 * (fn - fx - step * gd)) : 0.1 * step;
                step = Math.max(0.1 * step, Math.min(0.5 * step, q));
            }
            if (!accepted) break;                 // no decrease at the precision of f: as good as it gets
            it++;
            double sy = 0, yy = 0;
            for (int i = 0; i < n; i++) {
                double si = xn[i] - x[i], yi = gn[i] - g[i];
                sy += si * yi;
                yy += yi * yi;
            }
            if (sy > 1e-12 * yy) {                 // else the curvature is too small to keep: skip the pair
                newest = (newest + 1) % memory;
                if (s[newest] == null) {
                    s[newest] = new double[n];
                    y[newest] = new double[n];
                }
                for (int i = 0; i < n; i++) {
                    s[newest][i] = xn[i] - x[i];
                    y[newest][i] = gn[i] - g[i];
                }
                rho[newest] = 1 / sy;
                if (stored < memory) stored++;
            }
            double[] t = x;
            x = xn;
            xn = t;
            t = g;
            g = gn;
            gn = t;
            fx = fn;
            if (monitor != null && monitor.stop(it, x, fx)) break;
        }
        double gmax = maxAbs(g);
        return new Result(x, fx, gmax, it, gmax <= gradTolerance);
    }

    static double dot(double[] a, double[] b) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int i = 0, n = a.length;
        for (; i + 3 < n; i += 4) {
            s0 += a[i] * b[i];
            s1 += a[i + 1] * b[i + 1];
            s2 += a[i + 2] * b[i + 2];
            s3 += a[i + 3] * b[i + 3];
        }
        for (; i < n; i++) s0 += a[i] * b[i];
        return (s0 + s1) + (s2 + s3);
    }

    private static void axpy(double a, double[] x, double[] y) {
        for (int i = 0; i < y.length; i++) y[i] += a * x[i];
    }

    private static void scale(double a, double[] x) {
        for (int i = 0; i < x.length; i++) x[i] *= a;
    }

    private static double maxAbs(double[] g) {
        double m = 0;
        for (double v : g) m = Math.max(m, Math.abs(v));
        return m;
    }
}
