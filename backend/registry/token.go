package registry

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Token file and environment.
const (
	TokenFile   = "token"          // beside config.json
	TokenEnvVar = "MCPWATCH_TOKEN" // overrides the file
	tokenBytes  = 32
	tokenMode   = 0o600
)

// Where ResolveToken found the token.
const (
	TokenSourceEnv       = "env"       // MCPWATCH_TOKEN
	TokenSourceFile      = "file"      // the existing token file
	TokenSourceGenerated = "generated" // a new token, just written to the file
)

// TokenPath is the token file inside configDir.
func TokenPath(configDir string) string { return filepath.Join(configDir, TokenFile) }

// ResolveToken returns the access token and where it came from: MCPWATCH_TOKEN when set
// (trimmed, non-empty); else the token file in configDir when it holds one (its mode is
// narrowed to 0600 if broader); else a new random token written to that file (0600, the
// folder 0700 when created). getenv nil means os.Getenv. A token file that exists but cannot
// be read is an error, never overwritten.
func ResolveToken(configDir string, getenv func(string) string) (token, source string, err error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if t := strings.TrimSpace(getenv(TokenEnvVar)); t != "" {
		return t, TokenSourceEnv, nil
	}
	path := TokenPath(configDir)
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return "", "", fmt.Errorf("registry: read token: %w", err)
	default:
		if t := strings.TrimSpace(string(data)); t != "" {
			if err := narrowMode(path); err != nil {
				return "", "", err
			}
			return t, TokenSourceFile, nil
		}
	}
	t, err := RegenerateToken(configDir)
	if err != nil {
		return "", "", err
	}
	return t, TokenSourceGenerated, nil
}

// RegenerateToken writes a new random token (32 bytes, hex) to the token file in configDir,
// replacing any old one, and returns it.
func RegenerateToken(configDir string) (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("registry: new token: %w", err)
	}
	t := hex.EncodeToString(b)
	if err := writeFileAtomic(TokenPath(configDir), []byte(t+"\n"), tokenMode); err != nil {
		return "", fmt.Errorf("registry: write token: %w", err)
	}
	return t, nil
}

// narrowMode sets the token file to 0600 when group or others have any access. Windows has
// no such bits, so it is left alone there.
func narrowMode(path string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("registry: token mode: %w", err)
	}
	if info.Mode().Perm()&0o077 == 0 {
		return nil
	}
	if err := os.Chmod(path, tokenMode); err != nil {
		return fmt.Errorf("registry: token mode: %w", err)
	}
	return nil
}

// TokenEqual compares a presented token with the expected one in constant time: both are
// hashed, so the comparison never stops early on content, and the length check is folded into
// the result. An empty token never matches (only emptiness is checked up front, not content).
func TokenEqual(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	same := subtle.ConstantTimeCompare(ha[:], hb[:])
	sameLen := subtle.ConstantTimeEq(int32(len(a)), int32(len(b))) //nolint:gosec // tokens are short; the hashes decide anyway
	return same&sameLen == 1
}
