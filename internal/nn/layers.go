// Package nn holds the layers shared by the CLIP, U-Net and VAE models: each a struct of named weights, a constructor over a weights.Scope, and a Forward.
package nn

import "github.com/roentgen-dev/roentgen/internal/weights"

// Linear is torch.nn.Linear: y = x·Wᵀ + b, W stored [Out, In].
type Linear struct {
	Weight, Bias *weights.Tensor // Bias is nil without bias
	In, Out      int
}

// NewLinear declares a linear layer. A 1x1 convolution weight [Out, In, 1, 1]
// is accepted in place of [Out, In]: diffusers stores some projections either
// way, and this is the one place that tolerates it.
func NewLinear(s weights.Scope, in, out int, bias bool) *Linear {
	l := &Linear{In: in, Out: out}
	if shape, ok := s.Shape("weight"); ok && len(shape) == 4 {
		l.Weight = s.Tensor("weight", out, in, 1, 1)
	} else {
		l.Weight = s.Tensor("weight", out, in)
	}
	if bias {
		l.Bias = s.Tensor("bias", out)
	}
	return l
}

// Conv2d is torch.nn.Conv2d with square kernels and zero padding.
type Conv2d struct {
	Weight, Bias            *weights.Tensor // Weight [Out, In, K, K]
	In, Out, K, Stride, Pad int
}

// NewConv2d declares a convolution with bias.
func NewConv2d(s weights.Scope, in, out, k, stride, pad int) *Conv2d {
	return &Conv2d{
		Weight: s.Tensor("weight", out, in, k, k),
		Bias:   s.Tensor("bias", out),
		In:     in, Out: out, K: k, Stride: stride, Pad: pad,
	}
}

// GroupNorm is torch.nn.GroupNorm with affine parameters.
type GroupNorm struct {
	Weight, Bias *weights.Tensor
	Groups, C    int
	Eps          float32
}

// NewGroupNorm declares a group norm over c channels.
func NewGroupNorm(s weights.Scope, groups, c int, eps float32) *GroupNorm {
	return &GroupNorm{Weight: s.Tensor("weight", c), Bias: s.Tensor("bias", c), Groups: groups, C: c, Eps: eps}
}

// LayerNorm is torch.nn.LayerNorm over the last dimension.
type LayerNorm struct {
	Weight, Bias *weights.Tensor
	C            int
	Eps          float32
}

// NewLayerNorm declares a layer norm over c features.
func NewLayerNorm(s weights.Scope, c int, eps float32) *LayerNorm {
	return &LayerNorm{Weight: s.Tensor("weight", c), Bias: s.Tensor("bias", c), C: c, Eps: eps}
}

// Embedding is torch.nn.Embedding: a [N, Dim] lookup table.
type Embedding struct {
	Weight *weights.Tensor
	N, Dim int
}

// NewEmbedding declares an embedding table.
func NewEmbedding(s weights.Scope, n, dim int) *Embedding {
	return &Embedding{Weight: s.Tensor("weight", n, dim), N: n, Dim: dim}
}
