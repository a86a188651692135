// Package kernels holds the float32 hot loops of roentgen: GEMM, convolution, normalisation, attention and activations.
//
// Every exported function documents its naive reference loop. On amd64 the
// GEMM micro-kernel (AVX-512 8×32 or AVX2 6×16, chosen at run time with
// golang.org/x/sys/cpu), the fp16 decode, the im2col row gather, the
// Winograd tile transforms and the exp-based loops (attention's online
// softmax, SiLU, QuickGELU, GELU) are Go assembly written by ./asmgen (go
// generate). On arm64 the GEMM micro-kernel (NEON 12×8) and the fp16 decode
// are assembly from the same generator. Each has a pure-Go twin, which the
// build tag noasm (or any other GOARCH, or for the rest arm64) selects, and the tests compare both against naive float64 loops
// (the Winograd transforms against their twins bit for bit). The GEMM
// driver, the packing, convolution, attention tiling and normalisation are Go
// in every build. 3×3 stride-1 convolutions run as Winograd F(4×4, 3×3) or
// F(2×2, 3×3) where that is faster (winogradAlgo), chosen per image.
//
// Parallel kernels split their work over output elements only, never over a
// reduction, and every output element is computed by the same instruction
// sequence whatever tile it falls in, so results are bit-identical for any
// thread count and for any batch an image is part of. The loops run on
// persistent workers (pool.go) that poll for the next loop for a moment
// before they sleep, since a step runs thousands of short loops.
package kernels
