module llmkube-tui/pause

go 1.24
