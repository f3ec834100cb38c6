"""Self-checks a student runs on their own code, e.g. `check_generator(MyGenerator)`.

Each check builds small inputs, runs the student's module or function and compares it
with the paper's recipe (Radford et al., 2015) and the course library. On success it
returns a `CheckReport` (a notebook shows it as a short list of what passed); on the
first problem it raises `CheckFailed`, an AssertionError whose message says what is
wrong and gives a hint for the fix. Checks never touch the caller's random state.

Conventions checked (the same as dcgan_lib.models and dcgan_lib.train):
* G maps z of shape (N, nz, 1, 1) or (N, nz) to images (N, nc, S, S) in [-1, 1] (Tanh);
* D maps images (N, nc, S, S) to raw logits of shape (N,): no Sigmoid, the loss applies it;
* losses take logits: `d_loss(real_logits, fake_logits)`, `g_loss(fake_logits)`;
* weights start from N(0, 0.02) (paper, section 4);
* D's features: every block max-pooled to 4x4, flattened, concatenated (section 5.1).

Besides the rules, some checks hold a student's answer against the library itself: the same
layer shapes (check_same_as_library), the same parameters after training steps
(check_training_loop), the same losses (check_hinge_losses), the same mode counts
(check_modes_per_category), the same z's (check_move_right, check_middles).
"""

from .codes import check_modes_per_category
from .features import check_feature_extractor
from .latent import check_middles, check_move_right
from .losses import check_d_loss, check_g_loss, check_hinge_losses
from .networks import check_discriminator, check_generator, check_same_as_library
from .report import CheckFailed, CheckReport, exercise, require_written
from .sizes import check_output_size, torch_output_size
from .training import check_training_loop

__all__ = [
    "CheckFailed",
    "CheckReport",
    "check_d_loss",
    "check_discriminator",
    "check_feature_extractor",
    "check_g_loss",
    "check_generator",
    "check_hinge_losses",
    "check_middles",
    "check_modes_per_category",
    "check_move_right",
    "check_output_size",
    "check_same_as_library",
    "check_training_loop",
    "exercise",
    "require_written",
    "torch_output_size",
]
