package pipeline

import (
	"fmt"

	"github.com/roentgen-dev/roentgen/internal/clip"
	"github.com/roentgen-dev/roentgen/internal/diffusers"
)

// LoadTokenizer reads the pipeline's tokenizer/ folder.
func LoadTokenizer(f *diffusers.Folder) (*clip.Tokenizer, error) {
	sub, err := f.Sub("tokenizer")
	if err != nil {
		return nil, err
	}
	tok, err := clip.LoadTokenizerFS(sub)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path("tokenizer"), err)
	}
	return tok, nil
}
