// Placeholder so the package builds while branch `pytorch` has this test target declared but its tests
// not yet committed. Delete once the real tests are merged.
