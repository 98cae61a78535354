//go:build !linux && !darwin && !windows

package cli

// parentProgram is unknown here: prompts name the parent by its pid.
func parentProgram() (string, bool) { return "", false }
