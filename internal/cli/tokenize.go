package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/roentgen-dev/roentgen/internal/clip"
	"github.com/roentgen-dev/roentgen/internal/pipeline"
	"github.com/spf13/cobra"
)

func (a *app) tokenizeCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "tokenize [--json] TEXT... | -",
		Short: "Show the CLIP tokens (with --json also the ids) the text encoder gets for each text",
		Long: `tokenize runs the pipeline's CLIP tokenizer (identical to transformers' CLIPTokenizer)
on each argument, or on each line of standard input when the only argument is "-".
It prints one line per text; with --json one JSON object per line:
{"text", "input_ids" (the model_max_length ids the pipeline uses), "tokens" (the BPE
tokens before padding and truncation), "truncated"}.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := pipeline.OpenFolder(a.model, a.stderr)
			if err != nil {
				return fmt.Errorf("loading model: %w", err)
			}
			if err := a.checkTextEncoder(f); err != nil {
				return err
			}
			tok, err := pipeline.LoadTokenizer(f, a.textEncoder)
			if err != nil {
				return fmt.Errorf("loading tokenizer: %w", err)
			}
			texts := args
			if len(args) == 1 && args[0] == "-" {
				texts = nil
				sc := bufio.NewScanner(cmd.InOrStdin())
				sc.Buffer(make([]byte, 1<<20), 1<<24)
				for sc.Scan() {
					texts = append(texts, sc.Text())
				}
				if err := sc.Err(); err != nil {
					return fmt.Errorf("reading standard input: %w", err)
				}
			}
			out := bufio.NewWriter(a.stdout)
			defer out.Flush()
			for i, text := range texts {
				if err := clip.CheckText(text); err != nil {
					return usagef("text %d is %v", i+1, err)
				}
			}
			for _, text := range texts {
				e := tok.Encode(text)
				if asJSON {
					line, err := json.Marshal(struct {
						Text      string   `json:"text"`
						InputIDs  []int    `json:"input_ids"`
						Tokens    []string `json:"tokens"`
						Truncated bool     `json:"truncated"`
					}{text, e.IDs, nonNil(e.Tokens), e.Truncated})
					if err != nil {
						return err
					}
					out.Write(append(line, '\n'))
					continue
				}
				fmt.Fprintf(out, "%d tokens: %s", len(e.Tokens), strings.Join(e.Tokens, " "))
				if e.Truncated {
					fmt.Fprintf(out, "  (truncated to %d; dropped %q)", tok.MaxLength()-2, e.Dropped)
				}
				fmt.Fprintln(out)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line")
	return cmd
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
