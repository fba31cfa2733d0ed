package engine

import (
	"fmt"
	"strings"
)

// fmtSscan reads the pid out of "grandchild pid N".
func fmtSscan(msg string, pid *int) (int, error) {
	i := strings.LastIndex(msg, " ")
	return fmt.Sscan(msg[i+1:], pid)
}
