package graph

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// minMapped is the smallest arena, in bytes, worth a mapping of its own.
const minMapped = 1 << 20

// mapArena maps n float32s of zeroed memory straight from the kernel, asking
// for transparent huge pages. A Go slice of that size would be cleared by
// the runtime first, faulting in 4 KiB pages one at a time on one thread
// (0.9 s for the VAE decoder's 0.7 GiB at 512 px, every image, since the
// arenas are handed back between stages); here the pages arrive zeroed and
// 2 MiB at a time as the ops first write them. ok is false if the mapping
// failed; the caller then allocates normally. b is the mapping, for unmap.
func mapArena(n int) (a []float32, b []byte, ok bool) {
	if n*4 < minMapped {
		return nil, nil, false
	}
	b, err := unix.Mmap(-1, 0, n*4, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil, nil, false
	}
	_ = unix.Madvise(b, unix.MADV_HUGEPAGE) // a hint: without THP the pages are just smaller
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n), b, true
}

// unmap returns a mapping made by mapArena.
func unmap(b []byte) { _ = unix.Munmap(b) }
