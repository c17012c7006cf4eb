"""The one owner of what a training run leaves for prediction: checkpoints, their NumPy exports and
the tree members, read and written.

Files (named by `layout`), in a run directory's `checkpoints/`:

- `<tag>-best.ckpt` (`tag`: `holdout` or `fold_<k>`, with `-m<network>` for an ensemble): a
  Lightning-format dict of plain values and tensors, written and read by `checkpoint`
  (`torch.load(weights_only=True)`): `state_dict`, `hyper_parameters` (the `Classifier`'s
  arguments), `pytorch-lightning_version`, `epoch`, `global_step`, `XrayDataModule` (classes,
  features, scaler state, training statistics and ids) and the stamp of `compat` (xnet version,
  checkpoint format, feature schema). It is the source of truth.
- `<tag>-best.npz` beside it (`export`): the weights as arrays and one JSON `meta` string with the
  checkpoint's hyperparameters, data-module state and SHA-256, so `xnet.predict` runs without
  torch; light-curve encoders have their NumPy forward pass in `encoders`.
- `<split>-trees.npz` (`trees`): a tree member (`ensemble.trees`) as flat arrays.

Reading for prediction is `load.load_model` (export where current, else the .ckpt); `compat` says
which older checkpoints load and refuses, in one line, the ones that cannot. The submodules import
torch only where they must (`checkpoint`), so that prediction from exports stays torch-free.
"""
