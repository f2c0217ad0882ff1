// Turns a trained candidate network into a TorchScript archive that plain
// PyTorch (torch.jit.load) or LibTorch (torch::jit::load) can run without
// this project: the module takes N x C x H x W float images scaled to [0, 1],
// normalizes them itself and returns N x classes logits. Parameters and
// buffers keep their names (dots become underscores) so the module can be
// fine-tuned. `extra_files` travel inside the archive (TorchScript extra
// files, e.g. "meta.json"). Built by tracing the network in eval mode, so
// the genotype's wiring is fixed in the graph; the batch size is free.
// Include only from nas_worker_torch sources and worker tests (LibTorch).
#ifndef NAS_WORKER_TORCHSCRIPT_EXPORT_H_
#define NAS_WORKER_TORCHSCRIPT_EXPORT_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/spaces/search_space.h"
#include "worker/models/model_builder.h"

namespace nas {

struct ExportOptions {
  InputShape input;
  // Per-channel normalization applied inside the module:
  // (x - mean[c]) / std[c]; one value per channel, or one for all channels.
  // Empty: mean 0, std 1. Kept in the module as float buffers
  // `input_mean` and `input_std` (1 x C x 1 x 1).
  std::vector<double> mean;
  std::vector<double> std;
  std::map<std::string, std::string> extra_files;
  // Trace the network in training mode: batch norm then normalizes with
  // each batch's statistics (and updates its running statistics) whatever
  // the loaded module's train()/eval() state, as it does while the
  // built-in trainer trains. For untrained candidates handed to a trainer
  // program (mode COMMAND). Default false: eval mode, running statistics.
  bool training_mode = false;
};

// The archive's bytes. Leaves `net` in eval mode (train mode with
// training_mode). Internal for a LibTorch
// error (message included).
absl::StatusOr<std::string> ExportTorchScript(CandidateNet& net,
                                              const ExportOptions& options);

}  // namespace nas

#endif  // NAS_WORKER_TORCHSCRIPT_EXPORT_H_
