package pipeline

import (
	"github.com/roentgen-dev/roentgen/internal/diffusers"
)

// Description is what `roentgen info` reports.
type Description struct {
	Model            string           `json:"model"`
	Pipeline         string           `json:"pipeline"`
	DiffusersVersion string           `json:"diffusers_version"`
	Family           diffusers.Family `json:"family"`
	Components       []ComponentInfo  `json:"components"`
	Tokenizer        TokenizerInfo    `json:"tokenizer"`
	Scheduler        string           `json:"scheduler"`
	Prediction       string           `json:"prediction_type"`
	Width            int              `json:"default_width"`
	Height           int              `json:"default_height"`
	VAEScale         int              `json:"vae_scale_factor"`
	Memory512        Estimate         `json:"memory_512_guided_bytes"`
	Notes            []string         `json:"notes,omitempty"` // outdated configs mended as diffusers does, another text encoder in the folder
}

// ComponentInfo is one network's line.
type ComponentInfo struct {
	Name   string   `json:"name"`
	Class  string   `json:"class"`
	Params int64    `json:"params"`
	DTypes []string `json:"dtypes"`
	Files  []string `json:"files"`
}

// TokenizerInfo summarises the tokenizer.
type TokenizerInfo struct {
	Folder    string `json:"folder"`
	Class     string `json:"class"`
	Vocab     int    `json:"vocab_size"`
	MaxLength int    `json:"model_max_length"`
	Pad       string `json:"pad_token"`
}

// Describe summarises a loaded pipeline.
func Describe(m *Models) (Description, error) {
	f := m.Folder
	d := Description{Model: f.Name, Pipeline: f.Class, DiffusersVersion: f.Version, Family: m.Family, VAEScale: m.VAEArch.ScaleFactor()}
	for _, c := range m.Components {
		ci := ComponentInfo{Name: c.Name, Class: c.Class, Params: c.Params, Files: c.Files}
		for _, dt := range c.DTypes() {
			ci.DTypes = append(ci.DTypes, string(dt))
		}
		d.Components = append(d.Components, ci)
	}
	cfg, _, _, notes, err := modelScheduler(f)
	if err != nil {
		return d, err
	}
	d.Notes = append(append(d.Notes, m.Notes...), notes...)
	d.Scheduler, d.Prediction = cfg.ClassName, "epsilon"
	if cfg.PredictionType != nil {
		d.Prediction = *cfg.PredictionType
	}
	tok, err := loadTokenizerFrom(f, m.TokenizerFolder)
	if err != nil {
		return d, err
	}
	class := f.Components[m.TokenizerFolder].Class
	if class == "" { // a folder model_index.json does not list
		class = "CLIPTokenizer"
	}
	d.Tokenizer = TokenizerInfo{Folder: m.TokenizerFolder, Class: class, Vocab: tok.VocabSize(), MaxLength: tok.MaxLength(), Pad: tok.Decode([]int{tok.PadID()})}
	d.Width, d.Height = m.DefaultSize()
	if d.Memory512, err = m.EstimateMemory(512, 512, 2); err != nil {
		return d, err
	}
	return d, nil
}
