//go:build !linux

package kernels

// newScratch returns a buffer of the given capacity from the Go heap.
func newScratch(capacity int) []float32 { return make([]float32, capacity) }

// freeScratch leaves s to the collector.
func freeScratch(s []float32) {}
