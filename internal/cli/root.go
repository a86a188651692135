// Package cli defines roentgen's cobra commands; it parses flags into pipeline options and prints results.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/roentgen-dev/roentgen/internal/kernels"
	"github.com/spf13/cobra"
)

// UsageError marks a mistake in the command line (exit code 2).
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// usagef returns a UsageError.
func usagef(format string, args ...any) error { return UsageError{fmt.Errorf(format, args...)} }

// ExitCode maps an error to the process exit code: 0 for none, 2 for usage
// errors, 1 for everything else.
func ExitCode(err error) int {
	var u UsageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &u):
		return 2
	}
	return 1
}

// app holds what every command shares.
type app struct {
	model       string
	variant     string
	textEncoder string
	// textEncoderFrom is the image --from took textEncoder from, if it did.
	textEncoderFrom string
	microKernel     string
	stdout          io.Writer
	stderr          io.Writer
	quiet           bool // --quiet of generate or batch: no notices besides errors and the summary
}

// NewRoot builds the roentgen command tree writing to the given streams.
func NewRoot(stdout, stderr io.Writer) *cobra.Command {
	a := &app{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "roentgen",
		Short: "Synthetic chest X-rays from radiology text with Stable Diffusion (RoentGen) on plain CPUs",
		Long: `roentgen runs RoentGen and other Stable Diffusion 1.x/2.x pipelines in Hugging Face
diffusers layout on CPUs, in pure Go. Synthetic images are for research only, never for diagnosis.

With no --model, commands use a built-in tiny random-weight demo pipeline.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			a.textEncoder = strings.TrimSuffix(a.textEncoder, "/") // as shell completion writes a folder
			if a.microKernel == "" || a.microKernel == "auto" {
				return nil
			}
			if err := kernels.UseMicroKernel(a.microKernel); err != nil {
				return usagef("--micro-kernel %v", err)
			}
			return nil
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return UsageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&a.model, "model", os.Getenv("ROENTGEN_MODEL"), "diffusers pipeline folder (default $ROENTGEN_MODEL, else the built-in demo model)")
	pf.StringVar(&a.variant, "variant", "", `weight variant to prefer, e.g. "fp16" for *.fp16.safetensors (default: full precision, else fp16)`)
	pf.StringVar(&a.textEncoder, "text-encoder", "", `text encoder folder of the model: text_encoder (as diffusers), or another, e.g. text_encoder_and_tokenizer (where RoentGen's training code saves its fine-tuned text encoder and tokenizer), whose tokenizer is then used too`)
	pf.StringVar(&a.microKernel, "micro-kernel", os.Getenv("ROENTGEN_MICRO_KERNEL"), `GEMM micro-kernel: "auto" (the fastest this CPU has), or one of those "roentgen version" lists (default $ROENTGEN_MICRO_KERNEL, else auto)`)
	root.AddCommand(a.generateCmd(), a.infoCmd(), a.tokenizeCmd(), a.benchCmd(), versionCmd(stdout))
	root.AddCommand(a.batchCmd(), a.manifestCmd())
	for _, c := range root.Commands() {
		c.Args = wrapArgs(c.Args)
	}
	return root
}

// wrapArgs turns positional-argument errors into usage errors.
func wrapArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	if v == nil {
		v = cobra.NoArgs
	}
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return UsageError{err}
		}
		return nil
	}
}

// Run executes a command line, prints any error as one "roentgen: ..." line
// on stderr, and returns the exit code.
func Run(args []string, stdout, stderr io.Writer) int {
	root := NewRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err != nil && strings.HasPrefix(err.Error(), "unknown command") {
		err = UsageError{err}
	}
	if err != nil {
		fmt.Fprintf(stderr, "roentgen: %v\n", err)
	}
	return ExitCode(err)
}
