"""Data in: reading CSV files (:mod:`.io`), understanding their columns (:mod:`.schema`), and turning them
into model inputs (:mod:`.windows` for sliding windows and padded sequences, :mod:`.text` for tokens and
vocabularies, :mod:`.wordvec` for the shipped pretrained word vectors). Nothing here imports Keras."""
