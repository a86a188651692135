package pipeline

import (
	"errors"
	"fmt"
	"github.com/roentgen-dev/roentgen/internal/graph"
	"io"
	"reflect"

	"github.com/roentgen-dev/roentgen/internal/clip"
	"github.com/roentgen-dev/roentgen/internal/sampler"
	"github.com/roentgen-dev/roentgen/internal/unet"
	"github.com/roentgen-dev/roentgen/internal/vae"
)

// Pipeline is a loaded model with its runners, ready to generate.
type Pipeline struct {
	Models    *Models
	Tokenizer *clip.Tokenizer
	Scheduler sampler.Config // the model's scheduler_config.json
	// Notes are for the user: how outdated configs were mended
	// (fixups.go), another text encoder in the folder (textfolder.go).
	Notes      []string
	own, other sampler.Config // Scheduler mended for the model's own scheduler, and for the others
	text       *clip.TextRunner
	unet       *unet.Runner
	vae        *vae.Runner
	embeds     map[string][]float32 // prompt → last_hidden_state, reused across images
	order      []string             // cached prompts, oldest first
	// fast is set when model_index.json names CLIPTokenizerFast, whose
	// normalizer and pre-tokenizer can split non-ASCII text otherwise than
	// the CLIPTokenizer roentgen implements (Encode warns).
	fast bool
}

// embedCacheSize bounds the prompt-embedding cache: a dataset walks its
// prompt table row by row, so recent prompts are the ones that repeat, and
// an unbounded cache of mostly distinct prompts (~240 KB each for SD 1.x)
// would grow without limit.
const embedCacheSize = 256

// New prepares a pipeline over loaded models: tokenizer, scheduler config
// and one runner per network (graphs compile on first use).
func New(m *Models) (*Pipeline, error) {
	tok, err := loadTokenizerFrom(m.Folder, m.TokenizerFolder)
	if err != nil {
		return nil, err
	}
	if tok.VocabSize() > m.TextArch.Vocab {
		return nil, fmt.Errorf("%s: the tokenizer has %d tokens, the text encoder's vocab_size is %d", m.Folder.Path(m.TokenizerFolder), tok.VocabSize(), m.TextArch.Vocab)
	}
	if tok.MaxLength() > m.TextArch.MaxPos {
		return nil, fmt.Errorf("%s: model_max_length %d exceeds the text encoder's max_position_embeddings %d", m.Folder.Path(m.TokenizerFolder), tok.MaxLength(), m.TextArch.MaxPos)
	}
	cfg, own, other, notes, err := modelScheduler(m.Folder)
	if err != nil {
		return nil, err
	}
	return &Pipeline{
		Models: m, Tokenizer: tok, Scheduler: cfg, own: own, other: other, Notes: append(m.Notes, notes...),
		text:   clip.NewTextRunner(m.TextEncoder),
		unet:   unet.NewRunner(m.UNet),
		vae:    vae.NewRunner(m.VAE),
		embeds: map[string][]float32{},
		fast:   m.TokenizerFolder == "tokenizer" && m.Folder.Components["tokenizer"].Class == "CLIPTokenizerFast",
	}, nil
}

// SchedulerMended reports whether the model's own scheduler runs with a
// mended config (fixups.go), and so differs from --scheduler CLASS built
// from the same file: images and manifests must then say which one ran.
func (p *Pipeline) SchedulerMended() bool {
	return !reflect.DeepEqual(p.own, p.other)
}

// samplerConfig is the scheduler config sampler name (see sampler.New)
// is built from.
func (p *Pipeline) samplerConfig(name string) sampler.Config {
	if name == "" {
		return p.own
	}
	return p.other
}

// maxDroppedShown bounds the dropped text a truncation warning quotes (its
// start and its end).
const maxDroppedShown = 200

// Encode returns the text encoder's last_hidden_state [1, L, D] for a
// prompt, cached per distinct prompt. A truncated prompt is reported once
// to warn, with the words that were dropped.
func (p *Pipeline) Encode(prompt string, warn io.Writer) ([]float32, error) {
	if e, ok := p.embeds[prompt]; ok {
		return e, nil
	}
	enc := p.Tokenizer.Encode(prompt)
	if p.fast && warn != nil && !plainASCII(prompt) {
		fmt.Fprintf(warn, "roentgen: warning: the model's tokenizer is CLIPTokenizerFast, which can split text with non-ASCII or control characters otherwise than CLIPTokenizer, which roentgen runs: %q may get other token ids than in diffusers\n", prompt)
	}
	if enc.Truncated && warn != nil {
		dropped := enc.Dropped
		if r := []rune(dropped); len(r) > maxDroppedShown {
			head, tail := r[:maxDroppedShown*3/4], r[len(r)-maxDroppedShown/4:]
			dropped = fmt.Sprintf("%s … (%d characters) … %s", string(head), len(r)-len(head)-len(tail), string(tail))
		}
		fmt.Fprintf(warn, "roentgen: warning: the prompt is longer than %d tokens; these words were dropped: %q\n", p.Tokenizer.MaxLength()-2, dropped)
	}
	out, err := p.text.Encode([][]int{enc.IDs})
	if err != nil {
		return nil, err
	}
	e := append([]float32(nil), out...)
	if len(p.order) == embedCacheSize {
		delete(p.embeds, p.order[0])
		p.order = p.order[1:]
	}
	p.embeds[prompt] = e
	p.order = append(p.order, prompt)
	return e, nil
}

// plainASCII reports whether s holds only printable ASCII and spaces, which
// CLIPTokenizer and CLIPTokenizerFast split alike.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x7f || c < 0x20 && c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// Close releases the compiled graphs, the arena memory kept for reuse and
// the weights.
func (p *Pipeline) Close() error {
	err := errors.Join(p.text.Close(), p.unet.Close(), p.vae.Close(), p.Models.Close())
	graph.DropArenas()
	return err
}

// NetStats describes one compiled network at the last shapes it ran.
type NetStats struct {
	FLOPs      int64 // arithmetic of one run, a multiply-add counting two
	SlowFLOPs  int64 // what a run adds when its slow inputs change (graph.Program.SlowFLOPs)
	ArenaBytes int64 // its activation arena
}

func statsOf(prog *graph.Program) NetStats {
	if prog == nil {
		return NetStats{}
	}
	return NetStats{FLOPs: prog.FLOPs(), SlowFLOPs: prog.SlowFLOPs(), ArenaBytes: prog.ArenaBytes()}
}

// Stats returns the text encoder's, U-Net's and VAE decoder's NetStats;
// zero for a network that has not run yet.
func (p *Pipeline) Stats() (text, unet, vae NetStats) {
	return statsOf(p.text.Program()), statsOf(p.unet.Program()), statsOf(p.vae.Program())
}
