package kernels

import (
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugeScratch is the smallest scratch capacity, in floats (2 MiB), that
// newScratch maps with transparent huge pages. The Winograd buffers (the
// transformed weights: 39 MB for the VAE's 512-channel layers) are read a
// block at a time, each block on pages of its own; in 4 KiB pages every
// block missed the TLB, and the products ran ~10% slower (paired, one
// thread, the VAE's 512-channel product loop).
const hugeScratch = 1 << 19

// mappedScratch holds the mappings behind scratch buffers, by first
// element, for freeScratch.
var mappedScratch struct {
	sync.Mutex
	m map[*float32][]byte
}

// newScratch returns a buffer of the given capacity: mapped with huge pages
// requested from hugeScratch floats on, from the Go heap below that or if
// mapping fails. A mapping's pages arrive as they are first written, so a
// buffer's unused tail (capacities are powers of two) costs no memory.
func newScratch(capacity int) []float32 {
	if capacity < hugeScratch {
		return make([]float32, capacity)
	}
	b, err := unix.Mmap(-1, 0, capacity*4, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return make([]float32, capacity)
	}
	_ = unix.Madvise(b, unix.MADV_HUGEPAGE) // a hint: without THP the pages are just smaller
	s := unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), capacity)
	mappedScratch.Lock()
	if mappedScratch.m == nil {
		mappedScratch.m = map[*float32][]byte{}
	}
	mappedScratch.m[&s[0]] = b
	mappedScratch.Unlock()
	return s
}

// freeScratch unmaps s if newScratch mapped it; the collector takes the rest.
func freeScratch(s []float32) {
	if cap(s) < hugeScratch {
		return
	}
	p := &s[:1][0]
	mappedScratch.Lock()
	b, ok := mappedScratch.m[p]
	delete(mappedScratch.m, p)
	mappedScratch.Unlock()
	if ok {
		_ = unix.Munmap(b)
	}
}
