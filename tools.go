//go:build tools

// Package main pins the design card's dependencies until code imports them.
package main
import (
 _ "github.com/wailsapp/wails/v2"
 _ "github.com/zishang520/socket.io/servers/socket/v3"
 _ "github.com/zishang520/socket.io/v3/pkg/types"
 _ "github.com/shirou/gopsutil/v4/process"
 _ "github.com/adrg/xdg"
 _ "go.uber.org/goleak"
 _ "github.com/modelcontextprotocol/go-sdk/mcp"
 _ "golang.org/x/sync/errgroup"
)
func main(){}
