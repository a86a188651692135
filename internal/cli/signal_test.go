package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestGenerateStopsCleanlyOnSignal interrupts a long generate: it must exit
// 1 with a one-line message, write no image and leave no temporary file.
func TestGenerateStopsCleanlyOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		dir := t.TempDir()
		cmd := exec.Command(roentgenBinary(t), "generate", "--prompt", "Cardiomegaly.", "--steps", "999", "--out", filepath.Join(dir, "x.png"))
		cmd.Env = append(os.Environ(), "ROENTGEN_MODEL=")
		var stderr syncBuffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Signal once denoising has begun (the handler is in place by
		// then), not after a fixed delay a loaded machine may outlast.
		for deadline := time.Now().Add(30 * time.Second); !strings.Contains(stderr.String(), "encode done"); {
			if time.Now().After(deadline) {
				t.Fatalf("%v: no encode line: %q", sig, stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		cmd.Process.Signal(sig)
		err := cmd.Wait()
		exit, ok := err.(*exec.ExitError)
		if !ok || exit.ExitCode() != 1 {
			t.Fatalf("%v: exit %v, stderr %q", sig, err, stderr.String())
		}
		if !strings.Contains(stderr.String(), "roentgen: generating: interrupted; no image was written") || strings.Contains(stderr.String(), "goroutine") {
			t.Errorf("%v: stderr %q", sig, stderr.String())
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%v: left %v in the output folder", sig, entries)
		}
	}
}

// TestSecondSignalAbandons: a batch started with SIGINT ignored (nohup, a
// background job) finishes its images in flight on a first SIGINT and
// exits at once with 130 on a second (restoring the default action would
// have left it ignored).
func TestSecondSignalAbandons(t *testing.T) {
	dir := t.TempDir()
	prompts := filepath.Join(dir, "p.txt")
	os.WriteFile(prompts, []byte("Cardiomegaly.\nEffusion.\n"), 0o644)
	cmd := exec.Command("sh", "-c", `trap "" INT; exec "$0" "$@"`, roentgenBinary(t), "batch", "--prompts", prompts, "--out", filepath.Join(dir, "out"), "--steps", "999")
	cmd.Env = append(os.Environ(), "ROENTGEN_MODEL=")
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Signal only once the batch is at work (its plan line is out), so that
	// the first SIGINT is not lost to the inherited ignore before roentgen
	// installs its handler.
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(stderr.String(), "to make, into"); {
		if time.Now().After(deadline) {
			t.Fatalf("no plan line: %q", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stderr.String(), "finishing the images in flight"); {
		if time.Now().After(deadline) {
			t.Fatalf("first SIGINT not seen: %q", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	start := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	exit, ok := err.(*exec.ExitError)
	if !ok || exit.ExitCode() != 130 || time.Since(start) > 5*time.Second {
		t.Fatalf("exit %v after %v, stderr %q", err, time.Since(start), stderr.String())
	}
	if !strings.Contains(stderr.String(), "SIGINT: finishing the images in flight") || !strings.Contains(stderr.String(), "SIGINT again: abandoning") {
		t.Errorf("stderr %q", stderr.String())
	}
}

// syncBuffer is a bytes.Buffer safe to read while a subprocess writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
