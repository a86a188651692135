package unet

import (
	"github.com/roentgen-dev/roentgen/internal/nn"
	"github.com/roentgen-dev/roentgen/internal/weights"
)

// Transformer2D is diffusers' Transformer2DModel for continuous inputs:
// GroupNorm(eps 1e-6) → proj_in → transformer blocks → proj_out → + input.
type Transformer2D struct {
	Norm              *nn.GroupNorm
	ProjIn, ProjOut   *nn.Linear // 1x1 convolutions when !LinearProj (stored [C,C,1,1])
	TransformerBlocks []*BasicTransformerBlock
	LinearProj        bool
}

func newTransformer2D(s weights.Scope, a Arch, b Block, c int) *Transformer2D {
	inner := b.Heads * b.HeadDim
	t := &Transformer2D{
		Norm:       nn.NewGroupNorm(s.Sub("norm"), a.Groups, c, 1e-6),
		ProjIn:     nn.NewLinear(s.Sub("proj_in"), c, inner, true),
		ProjOut:    nn.NewLinear(s.Sub("proj_out"), inner, c, true),
		LinearProj: a.LinearProj,
	}
	for i := range b.TransformerDepth {
		t.TransformerBlocks = append(t.TransformerBlocks, newBasicTransformerBlock(s.Sub("transformer_blocks").Index(i), a, b, inner))
	}
	return t
}

// BasicTransformerBlock is LN → self-attention → +, LN → cross-attention → +,
// LN → GEGLU feed-forward → +. With only_cross_attention, attn1 also attends
// to the text.
type BasicTransformerBlock struct {
	Norm1, Norm2, Norm3 *nn.LayerNorm
	Attn1, Attn2        *nn.Attention
	FF                  *FeedForward
	OnlyCrossAttn       bool // attn1 attends to the text too
}

func newBasicTransformerBlock(s weights.Scope, a Arch, b Block, dim int) *BasicTransformerBlock {
	ctx1 := dim
	if b.OnlyCrossAttn {
		ctx1 = a.CrossDim
	}
	attn := func(name string, ctx int) *nn.Attention {
		return nn.NewAttention(s.Sub(name), nn.AttentionOptions{QueryDim: dim, ContextDim: ctx, Heads: b.Heads, HeadDim: b.HeadDim})
	}
	return &BasicTransformerBlock{
		Norm1: nn.NewLayerNorm(s.Sub("norm1"), dim, 1e-5),
		Attn1: attn("attn1", ctx1),
		Norm2: nn.NewLayerNorm(s.Sub("norm2"), dim, 1e-5),
		Attn2: attn("attn2", a.CrossDim),
		Norm3: nn.NewLayerNorm(s.Sub("norm3"), dim, 1e-5),
		FF:    newFeedForward(s.Sub("ff"), dim),

		OnlyCrossAttn: b.OnlyCrossAttn,
	}
}

// FeedForward is GEGLU: net.0.proj (dim → 8·dim) split into hidden and gate,
// hidden·gelu(gate), then net.2 (4·dim → dim).
type FeedForward struct {
	Proj, Out *nn.Linear
	Inner     int
}

func newFeedForward(s weights.Scope, dim int) *FeedForward {
	inner := 4 * dim
	return &FeedForward{
		Proj:  nn.NewLinear(s.Sub("net").Index(0).Sub("proj"), dim, 2*inner, true),
		Out:   nn.NewLinear(s.Sub("net").Index(2), inner, dim, true),
		Inner: inner,
	}
}
