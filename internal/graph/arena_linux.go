package graph

import (
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// minMapped is the smallest arena, in bytes, worth a mapping of its own.
const minMapped = 1 << 20

// arenas holds the mappings of released arenas (Program.Release) for the
// next program to need one: the VAE decoder after the U-Net, the U-Net of
// the next image after the VAE. A first write to fresh memory costs a page
// fault and the zeroing of the page, and on a virtual machine whose guest
// memory is not yet backed by the host several times that (~1.9 ms per MB
// measured here: over a second of a 512 px decode, whose arena is 0.7 GiB);
// a reused mapping's pages are already there.
var arenas struct {
	sync.Mutex
	free [][]byte
}

// maxPooled bounds the mappings arenas keeps; past it the oldest is unmapped.
const maxPooled = 4

// mapArena returns memory for n float32s, not necessarily zeroed: a
// released arena's mapping, resized to n with mremap (which keeps the pages
// already in and drops those past n, so holding it never raises the peak),
// or else a fresh anonymous mapping with transparent huge pages requested.
// A Go slice of that size would be cleared by the runtime first, faulting in
// 4 KiB pages one at a time on one thread; here the pages arrive as the ops
// first write them. ok is false if mapping failed; the caller then
// allocates normally. b is the mapping, for releaseArena or unmap.
func mapArena(n int) (a []float32, b []byte, ok bool) {
	size := n * 4
	if size < minMapped {
		return nil, nil, false
	}
	if b = takeArena(size); b == nil {
		var err error
		b, err = unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
		if err != nil {
			return nil, nil, false
		}
	}
	_ = unix.Madvise(b, unix.MADV_HUGEPAGE) // a hint: without THP the pages are just smaller
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n), b, true
}

// takeArena removes from arenas the smallest mapping of at least size
// bytes, or else the largest, and returns it resized to size; nil if there
// is none or the resize failed.
func takeArena(size int) []byte {
	arenas.Lock()
	defer arenas.Unlock()
	best := -1
	for i, m := range arenas.free {
		if best < 0 {
			best = i
			continue
		}
		bl, ml := len(arenas.free[best]), len(m)
		if bl < size && ml > bl || ml >= size && ml < bl {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	m := arenas.free[best]
	arenas.free = append(arenas.free[:best], arenas.free[best+1:]...)
	if len(m) == size {
		return m
	}
	r, err := unix.Mremap(m, size, unix.MREMAP_MAYMOVE)
	if err != nil {
		unmap(m)
		return nil
	}
	return r
}

// releaseArena keeps a mapping made by mapArena for reuse.
func releaseArena(b []byte) {
	arenas.Lock()
	defer arenas.Unlock()
	arenas.free = append(arenas.free, b)
	if len(arenas.free) > maxPooled {
		unmap(arenas.free[0])
		arenas.free = arenas.free[1:]
	}
}

// DropArenas unmaps the mappings kept for reuse.
func DropArenas() {
	arenas.Lock()
	defer arenas.Unlock()
	for _, b := range arenas.free {
		unmap(b)
	}
	arenas.free = nil
}

// unmap returns a mapping made by mapArena to the kernel.
func unmap(b []byte) { _ = unix.Munmap(b) }
