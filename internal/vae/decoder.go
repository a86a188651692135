package vae

import (
	"fmt"
	"slices"

	"github.com/roentgen-dev/roentgen/internal/nn"
	"github.com/roentgen-dev/roentgen/internal/weights"
)

// eps is the epsilon of every VAE norm.
const eps = 1e-6

// Decoder is AutoencoderKL's post_quant_conv plus decoder.
type Decoder struct {
	Arch          Arch
	PostQuantConv *nn.Conv2d // nil when use_post_quant_conv is false
	ConvIn        *nn.Conv2d
	Mid           MidBlock
	UpBlocks      []*UpBlock
	ConvNormOut   *nn.GroupNorm
	ConvOut       *nn.Conv2d
}

// MidBlock is UNetMidBlock2D without time embedding: resnet, one-head
// attention with its own GroupNorm and residual, resnet.
type MidBlock struct {
	Resnets   [2]*nn.ResnetBlock2D
	AttnNorm  *nn.GroupNorm
	Attention *nn.Attention // nil when mid_block_add_attention is false
}

// UpBlock is UpDecoderBlock2D.
type UpBlock struct {
	Resnets   []*nn.ResnetBlock2D
	Upsampler *nn.Upsample2D
}

// ignored are the AutoencoderKL tensors that decoding does not use.
var ignored = []string{"encoder.", "quant_conv."}

// legacyNames maps the VAE attention's current module names to the ones of
// checkpoints saved before diffusers 0.14 (AttentionBlock), which diffusers
// converts on load.
var legacyNames = map[string]string{"to_q": "query", "to_k": "key", "to_v": "value", "to_out.0": "proj_attn"}

// New declares the decoder weights of a and checks the set against them.
func New(set *weights.Set, a Arch) (*Decoder, error) {
	s := set.Root()
	ch := slices.Clone(a.Channels)
	slices.Reverse(ch)
	d := &Decoder{Arch: a}
	if a.PostQuantConv {
		d.PostQuantConv = nn.NewConv2d(s.Sub("post_quant_conv"), a.Latent, a.Latent, 1, 1, 0)
	}
	ds := s.Sub("decoder")
	d.ConvIn = nn.NewConv2d(ds.Sub("conv_in"), a.Latent, ch[0], 3, 1, 1)
	ro := nn.ResnetOptions{Groups: a.Groups, Eps: eps, OutputScale: 1}
	ms := ds.Sub("mid_block")
	d.Mid.Resnets[0] = nn.NewResnetBlock2D(ms.Sub("resnets").Index(0), ch[0], ch[0], ro)
	if a.MidAttention {
		as := ms.Sub("attentions").Index(0)
		d.Mid.AttnNorm = nn.NewGroupNorm(as.Sub("group_norm"), a.Groups, ch[0], eps)
		names := [4]string{"to_q", "to_k", "to_v", "to_out.0"}
		if !as.Has("to_q.weight") && as.Has("query.weight") {
			for i, n := range names {
				names[i] = legacyNames[n]
			}
		}
		d.Mid.Attention = nn.NewAttentionNamed(as, nn.AttentionOptions{QueryDim: ch[0], ContextDim: ch[0], Heads: 1, HeadDim: ch[0], QKVBias: true}, names)
	}
	d.Mid.Resnets[1] = nn.NewResnetBlock2D(ms.Sub("resnets").Index(1), ch[0], ch[0], ro)
	prev := ch[0]
	for i, out := range ch {
		us := ds.Sub("up_blocks").Index(i)
		u := &UpBlock{}
		for j := range a.Layers + 1 {
			in := out
			if j == 0 {
				in = prev
			}
			u.Resnets = append(u.Resnets, nn.NewResnetBlock2D(us.Sub("resnets").Index(j), in, out, ro))
		}
		if i < len(ch)-1 {
			u.Upsampler = nn.NewUpsample2D(us.Sub("upsamplers").Index(0), out)
		}
		d.UpBlocks = append(d.UpBlocks, u)
		prev = out
	}
	d.ConvNormOut = nn.NewGroupNorm(ds.Sub("conv_norm_out"), a.Groups, a.Channels[0], eps)
	d.ConvOut = nn.NewConv2d(ds.Sub("conv_out"), a.Channels[0], a.Out, 3, 1, 1)
	if err := set.Check(ignored...); err != nil {
		return nil, fmt.Errorf("vae weights do not match the config: %w", err)
	}
	return d, nil
}
