package kernels

// goKernel is the pure-Go micro-kernel, a 4×4 register block.
var goKernel = microKernel{name: "go", mr: 4, nr: 4, mc: 128, kc: 256, fn: sgemmKernelGo}

// sgemmKernelGo computes a 4×4 tile C = alpha*A·B + beta*C from packed panels:
//
//	for i := 0; i < 4; i++ {
//		for j := 0; j < 4; j++ {
//			var s float32
//			for p := 0; p < k; p++ {
//				s += a[p*4+i] * b[p*4+j]
//			}
//			c[i*ldc+j] = alpha*s + beta*c[i*ldc+j] // c not read if beta == 0
//		}
//	}
func sgemmKernelGo(k int, a, b, c []float32, ldc int, alpha, beta float32) {
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	var c20, c21, c22, c23, c30, c31, c32, c33 float32
	a, b = a[:4*k], b[:4*k]
	for p := 0; p < len(a); p += 4 {
		aa := a[p : p+4 : p+4]
		bb := b[p : p+4 : p+4]
		b0, b1, b2, b3 := bb[0], bb[1], bb[2], bb[3]
		a0 := aa[0]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		a1 := aa[1]
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		a2 := aa[2]
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		a3 := aa[3]
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	acc := [16]float32{c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33}
	for i := range 4 {
		row := c[i*ldc : i*ldc+4 : i*ldc+4]
		for j := range 4 {
			v := alpha * acc[i*4+j]
			if beta != 0 {
				v += beta * row[j]
			}
			row[j] = v
		}
	}
}
