// Package unet implements diffusers' UNet2DConditionModel, the noise predictor of Stable Diffusion.
package unet

import (
	"fmt"

	"github.com/roentgen-dev/roentgen/internal/config"
)

// Config is unet/config.json with diffusers' field names and defaults
// (UNet2DConditionModel, diffusers 0.25).
type Config struct {
	SampleSize                config.Size       `json:"sample_size"` // latent cells; [height, width] since diffusers 0.32
	InChannels                int               `json:"in_channels"`
	OutChannels               int               `json:"out_channels"`
	CenterInputSample         bool              `json:"center_input_sample"`
	FlipSinToCos              bool              `json:"flip_sin_to_cos"`
	FreqShift                 float64           `json:"freq_shift"`
	DownBlockTypes            []string          `json:"down_block_types"`
	MidBlockType              *string           `json:"mid_block_type"`
	UpBlockTypes              []string          `json:"up_block_types"`
	OnlyCrossAttention        config.BoolOrList `json:"only_cross_attention"`
	BlockOutChannels          []int             `json:"block_out_channels"`
	LayersPerBlock            config.IntOrList  `json:"layers_per_block"`
	DownsamplePadding         int               `json:"downsample_padding"`
	MidBlockScaleFactor       float64           `json:"mid_block_scale_factor"`
	ActFn                     string            `json:"act_fn"`
	NormNumGroups             int               `json:"norm_num_groups"`
	NormEps                   float64           `json:"norm_eps"`
	CrossAttentionDim         config.IntOrList  `json:"cross_attention_dim"`
	TransformerLayersPerBlock config.IntOrList  `json:"transformer_layers_per_block"`
	ReverseTransformerLayers  config.IntOrList  `json:"reverse_transformer_layers_per_block"`
	AttentionHeadDim          config.IntOrList  `json:"attention_head_dim"`
	NumAttentionHeads         config.IntOrList  `json:"num_attention_heads"`
	UseLinearProjection       bool              `json:"use_linear_projection"`
	UpcastAttention           bool              `json:"upcast_attention"`
	ResnetTimeScaleShift      string            `json:"resnet_time_scale_shift"`
	ResnetOutScaleFactor      float64           `json:"resnet_out_scale_factor"`
	ResnetSkipTimeAct         bool              `json:"resnet_skip_time_act"`
	TimeEmbeddingType         string            `json:"time_embedding_type"`
	TimeEmbeddingDim          *int              `json:"time_embedding_dim"`
	TimeEmbeddingActFn        *string           `json:"time_embedding_act_fn"`
	TimestepPostAct           *string           `json:"timestep_post_act"`
	TimeCondProjDim           *int              `json:"time_cond_proj_dim"`
	ConvInKernel              int               `json:"conv_in_kernel"`
	ConvOutKernel             int               `json:"conv_out_kernel"`
	ClassEmbedType            *string           `json:"class_embed_type"`
	NumClassEmbeds            *int              `json:"num_class_embeds"`
	AdditionEmbedType         *string           `json:"addition_embed_type"`
	EncoderHidDim             *int              `json:"encoder_hid_dim"`
	DualCrossAttention        bool              `json:"dual_cross_attention"`
	CrossAttentionNorm        *string           `json:"cross_attention_norm"`
	AttentionType             string            `json:"attention_type"`
	MidBlockOnlyCrossAttn     *bool             `json:"mid_block_only_cross_attention"`
}

// defaults are UNet2DConditionModel.__init__'s defaults.
func defaults() Config {
	mid := "UNetMidBlock2DCrossAttn"
	return Config{
		InChannels: 4, OutChannels: 4, FlipSinToCos: true,
		DownBlockTypes:            []string{"CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"},
		MidBlockType:              &mid,
		UpBlockTypes:              []string{"UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"},
		BlockOutChannels:          []int{320, 640, 1280, 1280},
		LayersPerBlock:            config.Int(2),
		DownsamplePadding:         1,
		MidBlockScaleFactor:       1,
		ActFn:                     "silu",
		NormNumGroups:             32,
		NormEps:                   1e-5,
		CrossAttentionDim:         config.Int(1280),
		TransformerLayersPerBlock: config.Int(1),
		AttentionHeadDim:          config.Int(8),
		ResnetTimeScaleShift:      "default",
		ResnetOutScaleFactor:      1,
		TimeEmbeddingType:         "positional",
		ConvInKernel:              3,
		ConvOutKernel:             3,
		AttentionType:             "default",
	}
}

// Block is one down or up block after the config's per-block lists are
// resolved. Up blocks are listed in execution order.
type Block struct {
	CrossAttn        bool
	In, Out, Prev    int // Prev: channels coming from the block below (up blocks)
	Layers           int // resnets
	Heads, HeadDim   int
	TransformerDepth int
	OnlyCrossAttn    bool
	Resample         bool // a downsampler (down blocks) or upsampler (up blocks) at the end
}

// Arch is the honest form of Config that the model is built from.
type Arch struct {
	In, Out, C0, TimeDim, CrossDim int
	Groups                         int
	Eps                            float32
	FlipSinToCos, CenterInput      bool
	FreqShift                      float64
	LinearProj                     bool
	DownPadding                    int
	ConvIn, ConvOut                int // kernel sizes
	Down, Up                       []Block
	Mid                            Block
	MidScale                       float32
}

// ParseConfig decodes and validates unet/config.json. file names it in errors.
func ParseConfig(file string, data []byte) (Config, Arch, error) {
	c := defaults()
	if err := config.Decode(file, data, &c); err != nil {
		return c, Arch{}, err
	}
	a, err := c.arch()
	if err != nil {
		return c, Arch{}, fmt.Errorf("%s: %w", file, err)
	}
	return c, a, nil
}
