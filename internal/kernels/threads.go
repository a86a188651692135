package kernels

import (
	"fmt"
	"math/bits"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

var threads atomic.Int32

func init() { threads.Store(int32(runtime.GOMAXPROCS(0))) }

// MicroKernel names the GEMM micro-kernel this process uses and its
// register block, e.g. "avx2 6x16": "avx512 8x32" on AVX-512 CPUs, "neon
// 12x8" on arm64, "go 4x4" elsewhere or with the noasm tag. Results differ in their last bits
// between micro-kernels (not between thread counts).
func MicroKernel() string { return fmt.Sprintf("%s %dx%d", active.name, active.mr, active.nr) }

// MicroKernels names the micro-kernels this CPU can run, fastest first:
// "avx512", "avx2" or "neon", and "go", as far as the CPU and build allow.
func MicroKernels() []string {
	var names []string
	for _, k := range kernels() {
		names = append(names, k.name)
	}
	return names
}

// UseMicroKernel makes every kernel use the micro-kernel called name, one
// of MicroKernels, instead of the fastest (to compare them, or to avoid
// one). Call it before any kernel runs.
func UseMicroKernel(name string) error {
	for _, k := range kernels() {
		if k.name == name {
			active = k
			return nil
		}
	}
	return fmt.Errorf("%q is not available on this CPU and build (available: %s)", name, strings.Join(MicroKernels(), ", "))
}

// maxThreads bounds SetThreads (the CLI refuses more than 1024).
const maxThreads = 1 << 16

// SetThreads sets the number of goroutines the parallel kernels use; n < 1
// means 1, and n is at most maxThreads.
func SetThreads(n int) {
	n = min(max(n, 1), maxThreads)
	threads.Store(int32(n))
}

// Threads reports the number of goroutines the parallel kernels use.
func Threads() int { return int(threads.Load()) }

// parallelFor runs fn(t) for every task t in [0, tasks) on up to Threads()
// goroutines. Tasks are handed out dynamically, so callers must make each
// task's result independent of which goroutine runs it.
func parallelFor(tasks int, fn func(t int)) {
	if tasks > 0 && loopTrace.on.Load() {
		var done func()
		fn, done = traced(tasks, fn)
		defer done()
	}
	nt := min(Threads(), tasks)
	if nt <= 1 {
		for t := range tasks {
			fn(t)
		}
		return
	}
	if poolFor(tasks, nt, fn) {
		return
	}
	// The workers are busy: a loop inside a task, or one from another
	// goroutine, gets goroutines of its own.
	l := &poolLoop{fn: fn, tasks: int64(tasks)}
	var wg sync.WaitGroup
	wg.Add(nt - 1)
	for range nt - 1 {
		go func() {
			defer wg.Done()
			l.run()
		}()
	}
	l.run()
	wg.Wait()
}

// parallelRange splits [0, n) into fixed chunks of size chunk and runs
// fn(lo, hi) on each; the chunking depends only on n and chunk.
func parallelRange(n, chunk int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	chunk = max(chunk, 1)
	parallelFor((n+chunk-1)/chunk, func(t int) {
		lo := t * chunk
		fn(lo, min(lo+chunk, n))
	})
}

// scratch recycles buffers by power-of-two capacity class, so that kernels
// asking for different sizes do not evict each other's buffers. It is a
// plain free list, not a sync.Pool: the binary runs the collector often
// (GOGC 20), and a pool dropped its buffers every second collection, so
// that the large ones were allocated and zeroed again mid-network (~1% of
// a step's CPU time). It holds at most what was in use at once; DropScratch
// empties it between networks.
var scratch struct {
	mu   sync.Mutex
	free [48][]*[]float32
}

// getBuf returns a scratch slice of length n; its contents are undefined.
func getBuf(n int) *[]float32 {
	class := bits.Len(uint(max(n, 1) - 1))
	scratch.mu.Lock()
	if l := len(scratch.free[class]); l > 0 {
		p := scratch.free[class][l-1]
		scratch.free[class] = scratch.free[class][:l-1]
		scratch.mu.Unlock()
		*p = (*p)[:n]
		return p
	}
	scratch.mu.Unlock()
	s := newScratch(1 << class)[:n]
	return &s
}

// DropScratch frees the recycled scratch buffers (unmapping the large
// ones, see newScratch), which otherwise keep one network's scratch
// resident while the next network runs. Call it only while no kernel runs.
func DropScratch() {
	scratch.mu.Lock()
	defer scratch.mu.Unlock()
	for i, l := range scratch.free {
		for _, p := range l {
			freeScratch(*p)
		}
		scratch.free[i] = nil
	}
}

// putBuf returns a slice from getBuf to the free list.
func putBuf(p *[]float32) {
	class := bits.Len(uint(cap(*p) - 1))
	scratch.mu.Lock()
	scratch.free[class] = append(scratch.free[class], p)
	scratch.mu.Unlock()
}
