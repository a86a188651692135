// Package pipeline wires the tokenizer, text encoder, U-Net, sampler and VAE into text-to-image generation.
package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/roentgen-dev/roentgen/internal/clip"
	"github.com/roentgen-dev/roentgen/internal/demo"
	"github.com/roentgen-dev/roentgen/internal/diffusers"
	"github.com/roentgen-dev/roentgen/internal/unet"
	"github.com/roentgen-dev/roentgen/internal/vae"
	"github.com/roentgen-dev/roentgen/internal/weights"
)

// DemoNotice is printed once on stderr when no model is given.
const DemoNotice = "roentgen: no --model given: using the built-in random-weight demo model (its images are noise); point --model at a diffusers pipeline folder, e.g. --model models/roentgen-v2, for real chest X-rays"

// OpenFolder opens the pipeline folder dir, or the embedded demo pipeline
// when dir is empty (writing DemoNotice to notice).
func OpenFolder(dir string, notice io.Writer) (*diffusers.Folder, error) {
	if dir == "" {
		if notice != nil {
			fmt.Fprintln(notice, DemoNotice)
		}
		return diffusers.OpenFS(demo.Name, demo.FS())
	}
	return diffusers.Open(dir)
}

// Component describes one loaded network.
type Component struct {
	Name, Class string
	Params      int64                   // floating-point elements stored (diffusers' parameter count)
	Bytes       map[weights.DType]int64 // stored bytes per dtype
	Files       []string
}

// DTypes lists the stored dtypes, most bytes first.
func (c Component) DTypes() []weights.DType {
	var ds []weights.DType
	for d := range c.Bytes {
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool { return c.Bytes[ds[i]] > c.Bytes[ds[j]] })
	return ds
}

// Models is a loaded pipeline: every config parsed and every weight declared
// and checked, with the tensor bytes still in their mapped files.
type Models struct {
	Folder      *diffusers.Folder
	Family      diffusers.Family
	TextArch    clip.Arch
	UNetArch    unet.Arch
	VAEArch     vae.Arch
	TextEncoder *clip.TextEncoder
	UNet        *unet.Model
	VAE         *vae.Decoder
	UNetConfig  unet.Config
	Components  []Component // the text encoder, unet, vae
	// TextEncoderFolder and TokenizerFolder are the folders the text
	// encoder and tokenizer are read from (see LoadOptions.TextEncoder).
	TextEncoderFolder, TokenizerFolder string
	Notes                              []string       // for the user: outdated configs mended as diffusers does (fixups.go), another text encoder in the folder (textfolder.go)
	sets                               []*weights.Set // in the order of Components
}

// LoadOptions choose among the files of a pipeline folder.
type LoadOptions struct {
	Variant string // weight variant to prefer ("" or e.g. "fp16")
	// TextEncoder is the folder of the text encoder: DefaultTextEncoder
	// when "", or another folder such as RoentGenTextEncoder, whose
	// tokenizer is then read from it too when it holds one.
	TextEncoder string
}

// release drops a component's mapped weights from the resident set until
// they are next read (see weights.Set.Release).
func (m *Models) release(component string) {
	for i, c := range m.Components {
		if c.Name == component {
			m.sets[i].Release()
		}
	}
}

// Load parses the configs of f and declares every network's weights, so
// that a missing tensor, a wrong shape or a stray tensor fails here with the
// file and tensor named.
func Load(f *diffusers.Folder, o LoadOptions) (m *Models, err error) {
	m = &Models{Folder: f, Family: f.Family(), TextEncoderFolder: DefaultTextEncoder}
	if o.TextEncoder != "" && o.TextEncoder != DefaultTextEncoder {
		if err := CheckTextEncoder(f, o.TextEncoder); err != nil {
			return m, err
		}
		m.TextEncoderFolder = o.TextEncoder
	}
	m.TokenizerFolder = TokenizerFolder(f, m.TextEncoderFolder)
	variant := o.Variant
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	open := func(name string) (*weights.Set, string, []byte, error) {
		file, data, err := f.Config(name)
		if err != nil {
			return nil, "", nil, err
		}
		set, wf, err := f.Weights(name, variant)
		if err != nil {
			return nil, "", nil, err
		}
		m.sets = append(m.sets, set)
		params, bytes := set.Stats()
		class := f.Components[name].Class
		if class == "" { // a text encoder folder model_index.json does not list
			class = "CLIPTextModel"
		}
		m.Components = append(m.Components, Component{Name: name, Class: class, Params: params, Bytes: bytes, Files: wf.Files})
		return set, file, data, nil
	}
	set, file, data, err := open(m.TextEncoderFolder)
	if err != nil {
		return m, err
	}
	if o.TextEncoder == "" {
		if note := otherTextEncoderNote(f, set, variant); note != "" {
			m.Notes = append(m.Notes, note)
		}
	}
	if _, m.TextArch, err = clip.ParseConfig(file, data); err != nil {
		return m, err
	}
	if m.TextEncoder, err = clip.NewTextEncoder(set, m.TextArch); err != nil {
		return m, err
	}
	if err = set.CheckFinite(); err != nil {
		return m, err
	}
	if set, file, data, err = open("unet"); err != nil {
		return m, err
	}
	if m.UNetConfig, m.UNetArch, err = unet.ParseConfig(file, data); err != nil {
		return m, err
	}
	var note string
	if m.UNetConfig.SampleSize, note = sampleSizeFixup(data, m.UNetConfig.SampleSize); note != "" {
		m.Notes = append(m.Notes, note)
	}
	if m.UNet, err = unet.New(set, m.UNetArch); err != nil {
		return m, err
	}
	if err = set.CheckFinite(); err != nil {
		return m, err
	}
	if set, file, data, err = open("vae"); err != nil {
		return m, err
	}
	if _, m.VAEArch, err = vae.ParseConfig(file, data); err != nil {
		return m, err
	}
	if m.VAE, err = vae.New(set, m.VAEArch); err != nil {
		return m, err
	}
	if err = set.CheckFinite(); err != nil {
		return m, err
	}
	if m.UNetArch.CrossDim != m.TextArch.Hidden {
		return m, fmt.Errorf("%s: cross_attention_dim %d does not match the text encoder's hidden_size %d", f.Path("unet", "config.json"), m.UNetArch.CrossDim, m.TextArch.Hidden)
	}
	if m.UNetArch.In != m.VAEArch.Latent {
		return m, fmt.Errorf("%s: in_channels %d does not match the VAE's latent_channels %d", f.Path("unet", "config.json"), m.UNetArch.In, m.VAEArch.Latent)
	}
	return m, m.checkDefaultSize()
}

// checkDefaultSize refuses a default image side (U-Net sample_size times
// the VAE's scale factor, each bounded alone) above maxSide.
func (m *Models) checkDefaultSize() error {
	if w, h := m.DefaultSize(); max(w, h) > maxSide {
		return fmt.Errorf("%s: sample_size %v times the VAE's scale factor %d is a %d-pixel default image side, more than roentgen's %d",
			m.Folder.Path("unet", "config.json"), m.UNetConfig.SampleSize, m.VAEArch.ScaleFactor(), max(w, h), maxSide)
	}
	return nil
}

// DefaultSize is the model's native image size: sample_size latent cells
// (square, or [height, width]) times the VAE scale factor.
func (m *Models) DefaultSize() (w, h int) {
	s, f := m.UNetConfig.SampleSize, m.VAEArch.ScaleFactor()
	return s.W * f, s.H * f
}

// Close unmaps the weight files.
func (m *Models) Close() error {
	var errs []error
	for _, s := range m.sets {
		errs = append(errs, s.Close())
	}
	m.sets = nil
	return errors.Join(errs...)
}

// Fingerprint identifies the weights (not the folder): the first 16 hex
// digits of a SHA-256 over every weight file's Fingerprint, in component
// order. Images record it so a result can be traced to its exact model.
func (m *Models) Fingerprint() string {
	h := sha256.New()
	for _, s := range m.sets {
		for _, f := range s.Files() {
			f.Fingerprint(h)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
