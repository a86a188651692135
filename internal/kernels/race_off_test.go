//go:build !race

package kernels

// raceBuild reports whether the tests run under the race detector, which
// instruments Go functions (the assembly kernels' wrappers among them).
const raceBuild = false
