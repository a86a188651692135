package nn

import "github.com/roentgen-dev/roentgen/internal/weights"

// Attention is diffusers' Attention: multi-head scaled dot-product attention
// softmax(q·kᵀ/√d)·v with to_out as Linear + bias. Context defaults to the
// query input (self-attention).
type Attention struct {
	ToQ, ToK, ToV, ToOut *Linear
	Heads, HeadDim       int
}

// AttentionOptions describes one attention layer.
type AttentionOptions struct {
	QueryDim, ContextDim int // ContextDim == QueryDim for self-attention
	Heads, HeadDim       int
	QKVBias              bool
}

// NewAttention declares an attention layer whose output projection is the
// module "to_out.0".
func NewAttention(s weights.Scope, o AttentionOptions) *Attention {
	return NewAttentionNamed(s, o, [4]string{"to_q", "to_k", "to_v", "to_out.0"})
}

// NewAttentionNamed declares an attention layer whose q, k, v and output
// projections have the given module names (the VAE's legacy checkpoints use
// query, key, value and proj_attn).
func NewAttentionNamed(s weights.Scope, o AttentionOptions, names [4]string) *Attention {
	inner := o.Heads * o.HeadDim
	return &Attention{
		ToQ:     NewLinear(s.Sub(names[0]), o.QueryDim, inner, o.QKVBias),
		ToK:     NewLinear(s.Sub(names[1]), o.ContextDim, inner, o.QKVBias),
		ToV:     NewLinear(s.Sub(names[2]), o.ContextDim, inner, o.QKVBias),
		ToOut:   NewLinear(s.Sub(names[3]), inner, o.QueryDim, true),
		Heads:   o.Heads,
		HeadDim: o.HeadDim,
	}
}
