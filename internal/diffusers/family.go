package diffusers

import "encoding/json"

// Family is the Stable Diffusion generation a pipeline belongs to.
type Family string

// The families roentgen runs.
const (
	SD1 Family = "SD 1.x"
	SD2 Family = "SD 2.x"
)

// Family tells SD 1.x from SD 2.x by the configs: SD 1.x conditions on
// OpenAI CLIP (quick_gelu) with convolutional transformer projections; SD 2.x
// on OpenCLIP (exact gelu) with linear projections. The text encoder decides;
// the U-Net's use_linear_projection breaks a missing hidden_act.
func (f *Folder) Family() Family {
	var te struct {
		HiddenAct string `json:"hidden_act"`
	}
	var un struct {
		UseLinearProjection bool `json:"use_linear_projection"`
	}
	if _, data, err := f.Config("text_encoder"); err == nil {
		_ = json.Unmarshal(data, &te)
	}
	if _, data, err := f.Config("unet"); err == nil {
		_ = json.Unmarshal(data, &un)
	}
	switch {
	case te.HiddenAct == "gelu":
		return SD2
	case te.HiddenAct == "quick_gelu":
		return SD1
	case un.UseLinearProjection:
		return SD2
	}
	return SD1
}
