package errs

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

func TestCodeAndMessage(t *testing.T) {
	cause := fs.ErrNotExist
	tests := []struct {
		name     string
		err      error
		code     Code
		message  string
		isNotExi bool
	}{
		{"nil", nil, "", InternalMessage, false},
		{"plain error is internal", errors.New("disk on fire"), Internal, InternalMessage, false},
		{"invalid made a sentence", Errorf(Invalid, "steps must be at least %d", 1000), Invalid, "Steps must be at least 1000.", false},
		{"keeps a question mark", Errorf(Conflict, "already voted?"), Conflict, "Already voted?", false},
		{"wrapped by fmt keeps the code", fmt.Errorf("start run: %w", Errorf(NotFound, "there is no run 7")), NotFound, "There is no run 7.", false},
		{"Errorf with %w wraps", Errorf(NotFound, "open checkpoint: %w", cause), NotFound, "Open checkpoint: file does not exist.", true},
		{"Wrap hides the cause", Wrap(Unavailable, cause, "the checkpoint is not written yet"), Unavailable, "The checkpoint is not written yet.", true},
		{"internal shows the generic sentence", Errorf(Internal, "query failed"), Internal, InternalMessage, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CodeOf(tt.err); got != tt.code {
				t.Errorf("CodeOf = %q, want %q", got, tt.code)
			}
			if got := MessageOf(tt.err); got != tt.message {
				t.Errorf("MessageOf = %q, want %q", got, tt.message)
			}
			if got := errors.Is(tt.err, fs.ErrNotExist); got != tt.isNotExi {
				t.Errorf("errors.Is(err, fs.ErrNotExist) = %v, want %v", got, tt.isNotExi)
			}
			if tt.code != "" && !Is(tt.err, tt.code) {
				t.Errorf("Is(err, %q) = false", tt.code)
			}
		})
	}
}
