/// Porter's version, reported by `--version`, in reports and in generated model cards.
public enum PorterVersion {
    public static let current = "0.1.0"
}
