//go:build desktop && bindings

package main

func init() { bindingsBuild = true }
