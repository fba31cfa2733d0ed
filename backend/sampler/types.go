// Package sampler measures processes (CPU over the last interval, memory, the whole descendant
// tree) and the machine, and keeps a metrics history per server.
package sampler

import "time"

// Tree sums a process and all its descendants.
type Tree struct {
	Processes int     `json:"processes"`
	CPU       float64 `json:"cpu"` // % of one core, 2 decimals
	RSS       uint64  `json:"rss"` // bytes
}

// ProcSample is one measurement of one process.
type ProcSample struct {
	PID     int       `json:"pid"`
	CPU     float64   `json:"cpu"`     // % of one core since the previous sample of this pid, 2 decimals
	RSS     uint64    `json:"rss"`     // bytes
	Uptime  int64     `json:"uptime"`  // whole seconds since the process started
	Threads int       `json:"threads"` // 0 when unknown
	FDs     int       `json:"fds"`     // 0 when unknown
	Tree    Tree      `json:"tree"`
	Time    time.Time `json:"timestamp"` // when the sample was taken
}

// SystemSample is one measurement of the whole machine.
type SystemSample struct {
	CPU    float64    `json:"cpu"`  // 0–100, all cores together, since the previous system sample
	CPUs   int        `json:"cpus"` // logical CPUs
	Memory Memory     `json:"memory"`
	Load   [3]float64 `json:"load"`
	Time   time.Time  `json:"timestamp"`
}

// Memory of the machine, in bytes.
type Memory struct {
	Total     uint64 `json:"total"`
	Used      uint64 `json:"used"`
	Available uint64 `json:"available"`
}
