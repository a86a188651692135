//go:build !linux

package graph

// mapArena is not used off Linux: arenas are ordinary Go slices there.
func mapArena(n int) (a []float32, b []byte, ok bool) { return nil, nil, false }

// unmap is never called off Linux.
func unmap(b []byte) {}
