/// Reads a sample from Prometheus text exposition.
public enum PrometheusText {
    /// The value of the sample named exactly `series` (name plus labels as
    /// rendered, e.g. `x_total{reason="a"}`), 0 when absent.
    public static func value(_ exposition: String, _ series: String) -> Double {
        for line in exposition.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.split(separator: " ").last ?? "") ?? 0
        }
        return 0
    }
}
