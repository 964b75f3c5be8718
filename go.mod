module github.com/datadragon/datadragon

go 1.26
