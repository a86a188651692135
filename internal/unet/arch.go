package unet

import (
	"fmt"
	"slices"
)

// unsupported lists config values that change the network in ways roentgen
// does not implement, so that such a model fails at load, not with wrong
// pictures.
func (c Config) unsupported() error {
	switch {
	case c.ClassEmbedType != nil || c.NumClassEmbeds != nil:
		return fmt.Errorf("class embeddings (class_embed_type/num_class_embeds) are not supported")
	case c.AdditionEmbedType != nil:
		return fmt.Errorf("addition_embed_type %q is not supported (SDXL-style conditioning)", *c.AdditionEmbedType)
	case c.EncoderHidDim != nil:
		return fmt.Errorf("encoder_hid_dim is not supported")
	case c.DualCrossAttention:
		return fmt.Errorf("dual_cross_attention is not supported")
	case c.CrossAttentionNorm != nil:
		return fmt.Errorf("cross_attention_norm %q is not supported", *c.CrossAttentionNorm)
	case c.AttentionType != "default":
		return fmt.Errorf("attention_type %q is not supported", c.AttentionType)
	case c.ResnetTimeScaleShift != "default":
		return fmt.Errorf("resnet_time_scale_shift %q is not supported", c.ResnetTimeScaleShift)
	case c.ResnetSkipTimeAct:
		return fmt.Errorf("resnet_skip_time_act is not supported")
	case c.ResnetOutScaleFactor != 1:
		return fmt.Errorf("resnet_out_scale_factor %g is not supported", c.ResnetOutScaleFactor)
	case c.TimeEmbeddingType != "positional":
		return fmt.Errorf("time_embedding_type %q is not supported", c.TimeEmbeddingType)
	case c.TimeEmbeddingActFn != nil || c.TimestepPostAct != nil || c.TimeCondProjDim != nil:
		return fmt.Errorf("time_embedding_act_fn, timestep_post_act and time_cond_proj_dim are not supported")
	case c.ActFn != "silu":
		return fmt.Errorf("act_fn %q is not supported (only silu)", c.ActFn)
	case c.NumAttentionHeads.Set:
		// diffusers 0.25 itself rejects it: attention_head_dim holds the head count.
		return fmt.Errorf("num_attention_heads must be null; diffusers reads the head count from attention_head_dim")
	case c.MidBlockType != nil && *c.MidBlockType != "UNetMidBlock2DCrossAttn":
		return fmt.Errorf("mid_block_type %q is not supported", *c.MidBlockType)
	case c.MidBlockType == nil:
		return fmt.Errorf("a U-Net without a mid block (mid_block_type null) is not supported")
	case c.DownsamplePadding != 1:
		// diffusers pads right and bottom only for padding 0; SD uses 1.
		return fmt.Errorf("downsample_padding %d is not supported (only 1)", c.DownsamplePadding)
	case c.ConvInKernel%2 == 0 || c.ConvOutKernel%2 == 0:
		return fmt.Errorf("conv_in_kernel and conv_out_kernel must be odd")
	}
	return nil
}

func (c Config) arch() (Arch, error) {
	if err := c.unsupported(); err != nil {
		return Arch{}, err
	}
	n := len(c.BlockOutChannels)
	switch {
	case n == 0:
		return Arch{}, fmt.Errorf("block_out_channels is empty")
	case len(c.DownBlockTypes) != n || len(c.UpBlockTypes) != n:
		return Arch{}, fmt.Errorf("down_block_types (%d), up_block_types (%d) and block_out_channels (%d) must have the same length", len(c.DownBlockTypes), len(c.UpBlockTypes), n)
	case c.InChannels <= 0 || c.OutChannels <= 0:
		return Arch{}, fmt.Errorf("in_channels and out_channels must be positive")
	case c.NormNumGroups <= 0:
		return Arch{}, fmt.Errorf("norm_num_groups must be positive")
	}
	for i, ch := range c.BlockOutChannels {
		if ch <= 0 || ch%c.NormNumGroups != 0 {
			return Arch{}, fmt.Errorf("block_out_channels[%d] = %d is not a positive multiple of norm_num_groups %d", i, ch, c.NormNumGroups)
		}
	}
	heads, err := c.AttentionHeadDim.PerBlock(n, "attention_head_dim")
	if err != nil {
		return Arch{}, err
	}
	layers, err := c.LayersPerBlock.PerBlock(n, "layers_per_block")
	if err != nil {
		return Arch{}, err
	}
	depth, err := c.TransformerLayersPerBlock.PerBlock(n, "transformer_layers_per_block")
	if err != nil {
		return Arch{}, err
	}
	cross, err := c.CrossAttentionDim.PerBlock(1, "cross_attention_dim")
	if err != nil {
		return Arch{}, fmt.Errorf("cross_attention_dim must be one integer (per-block values are not supported)")
	}
	only, err := c.OnlyCrossAttention.PerBlock(n, "only_cross_attention")
	if err != nil {
		return Arch{}, err
	}
	for i := range n {
		switch {
		case heads[i] <= 0 || heads[i] > c.BlockOutChannels[i]:
			return Arch{}, fmt.Errorf("attention_head_dim[%d] = %d heads must be between 1 and the block's %d channels", i, heads[i], c.BlockOutChannels[i])
		case layers[i] < 1:
			return Arch{}, fmt.Errorf("layers_per_block[%d] = %d must be at least 1", i, layers[i])
		case depth[i] < 1:
			return Arch{}, fmt.Errorf("transformer_layers_per_block[%d] = %d must be at least 1", i, depth[i])
		}
	}
	switch {
	case cross[0] <= 0:
		return Arch{}, fmt.Errorf("cross_attention_dim must be positive")
	case c.SampleSize <= 0:
		return Arch{}, fmt.Errorf("sample_size must be positive")
	case c.NormEps <= 0:
		return Arch{}, fmt.Errorf("norm_eps must be positive")
	case c.TimeEmbeddingDim != nil && *c.TimeEmbeddingDim <= 0:
		return Arch{}, fmt.Errorf("time_embedding_dim must be positive")
	}
	a := Arch{
		In: c.InChannels, Out: c.OutChannels, C0: c.BlockOutChannels[0], TimeDim: 4 * c.BlockOutChannels[0],
		CrossDim: cross[0], Groups: c.NormNumGroups, Eps: float32(c.NormEps),
		FlipSinToCos: c.FlipSinToCos, CenterInput: c.CenterInputSample, FreqShift: c.FreqShift,
		LinearProj: c.UseLinearProjection, DownPadding: c.DownsamplePadding,
		ConvIn: c.ConvInKernel, ConvOut: c.ConvOutKernel, MidScale: float32(c.MidBlockScaleFactor),
	}
	if c.TimeEmbeddingDim != nil {
		a.TimeDim = *c.TimeEmbeddingDim
	}
	out := c.BlockOutChannels[0]
	for i, t := range c.DownBlockTypes {
		b := Block{In: out, Out: c.BlockOutChannels[i], Layers: layers[i], Resample: i < n-1}
		switch t {
		case "CrossAttnDownBlock2D":
			b.CrossAttn = true
		case "DownBlock2D":
		default:
			return Arch{}, fmt.Errorf("down_block_types[%d]: block type %q is not supported", i, t)
		}
		b.Heads, b.HeadDim, b.TransformerDepth, b.OnlyCrossAttn = heads[i], b.Out/heads[i], depth[i], only[i]
		out = b.Out
		a.Down = append(a.Down, b)
	}
	last := c.BlockOutChannels[n-1]
	a.Mid = Block{CrossAttn: true, In: last, Out: last, Layers: 1, Heads: heads[n-1], HeadDim: last / heads[n-1], TransformerDepth: depth[n-1]}
	if c.MidBlockOnlyCrossAttn != nil {
		a.Mid.OnlyCrossAttn = *c.MidBlockOnlyCrossAttn
	} else {
		a.Mid.OnlyCrossAttn = only[n-1]
	}
	rev := slices.Clone(c.BlockOutChannels)
	slices.Reverse(rev)
	rheads, rlayers, ronly := slices.Clone(heads), slices.Clone(layers), slices.Clone(only)
	slices.Reverse(rheads)
	slices.Reverse(rlayers)
	slices.Reverse(ronly)
	rdepth := slices.Clone(depth)
	slices.Reverse(rdepth)
	if c.ReverseTransformerLayers.Set {
		if rdepth, err = c.ReverseTransformerLayers.PerBlock(n, "reverse_transformer_layers_per_block"); err != nil {
			return Arch{}, err
		}
	}
	prev := rev[0]
	for i, t := range c.UpBlockTypes {
		b := Block{Prev: prev, Out: rev[i], In: rev[min(i+1, n-1)], Layers: rlayers[i] + 1, Resample: i < n-1}
		switch t {
		case "CrossAttnUpBlock2D":
			b.CrossAttn = true
		case "UpBlock2D":
		default:
			return Arch{}, fmt.Errorf("up_block_types[%d]: block type %q is not supported", i, t)
		}
		b.Heads, b.HeadDim, b.TransformerDepth, b.OnlyCrossAttn = rheads[i], b.Out/rheads[i], rdepth[i], ronly[i]
		prev = b.Out
		a.Up = append(a.Up, b)
	}
	return a, nil
}
