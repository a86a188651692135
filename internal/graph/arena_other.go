//go:build !linux

package graph

// mapArena is not used off Linux: arenas are ordinary Go slices there.
func mapArena(n int) (a []float32, b []byte, ok bool) { return nil, nil, false }

// releaseArena and unmap are never called off Linux.
func releaseArena(b []byte) {}
func unmap(b []byte)        {}

// DropArenas has nothing to drop off Linux.
func DropArenas() {}
