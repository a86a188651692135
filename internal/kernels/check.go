package kernels

import "fmt"

// Shape checks at the exported entry points: a kernel called with a slice
// too short for its shape panics with the kernel, the argument and the sizes,
// instead of an index error deep inside a worker goroutine.

// needLen panics unless n >= want.
func needLen(fn, arg string, n, want int) {
	if n < want {
		panic(fmt.Sprintf("kernels.%s: len(%s) = %d, want at least %d", fn, arg, n, want))
	}
}

// needMat panics unless a row-major rows×cols matrix with leading dimension
// ld fits in n elements.
func needMat(fn, arg string, n, rows, cols, ld int) {
	if rows <= 0 || cols <= 0 {
		return
	}
	if ld < cols {
		panic(fmt.Sprintf("kernels.%s: leading dimension of %s is %d, want at least %d", fn, arg, ld, cols))
	}
	needLen(fn, arg, n, (rows-1)*ld+cols)
}

// needOp checks op(X) of shape rows×cols stored with leading dimension ld.
func needOp(fn, arg string, n int, trans bool, rows, cols, ld int) {
	if trans {
		rows, cols = cols, rows
	}
	needMat(fn, arg, n, rows, cols, ld)
}

// len returns the element count of w.
func (w Weights) len(fn string) int {
	if (w.F32 == nil) == (w.F16 == nil) {
		panic(fmt.Sprintf("kernels.%s: Weights needs exactly one of F32 and F16", fn))
	}
	return w.Len()
}
