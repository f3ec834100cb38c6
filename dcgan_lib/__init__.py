"""dcgan_lib: the small PyTorch library behind the DCGAN course. Notebooks import from here."""

from .arithmetic import (
    arithmetic,
    arithmetic_success,
    arithmetic_trials,
    concept_picks,
    concept_vector,
    match_rate,
    pick_concept_z,
    random_like_norm,
    sample_and_label,
)
from .checkpoints import (
    export_checkpoint,
    load_checkpoint,
    load_discriminator,
    load_generator,
    pretrained_path,
)
from .checks import (
    CheckFailed,
    check_d_loss,
    check_discriminator,
    check_feature_extractor,
    check_g_loss,
    check_generator,
    check_hinge_losses,
    check_middles,
    check_modes_per_category,
    check_move_right,
    check_output_size,
    check_same_as_library,
    check_training_loop,
    exercise,
    require_written,
)
from .config import TrainConfig
from .data import SyntheticShapes, load_dataset, stack_dataset, to_uint8, try_load_dataset
from .errors import (
    CheckpointError,
    ConfigError,
    CourseError,
    DatasetError,
    TrainingDiverged,
    TrainingInterrupted,
)
from .export import export_generator_onnx, fold_batchnorm
from .features import (
    channel_correlations,
    generate_with_dropped_channels,
    guided_backprop,
    mask_correlations,
    object_fraction,
    strongest_channels,
)
from .latent import (
    interpolate,
    interpolation_grid,
    interpolation_path,
    label_changes,
    largest_step_share,
    lerp,
    slerp,
    step_changes,
)
from .losses import (
    LOSSES,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    hinge_discriminator_loss,
    hinge_generator_loss,
    pick_losses,
    smoothed_discriminator_loss,
    wasserstein_critic_loss,
    wasserstein_generator_loss,
)
from .memorisation import nearest_neighbours
from .metrics import (
    MnistClassifier,
    class_probabilities,
    classifier_score,
    extract_features,
    fid_kid,
    load_mnist_classifier,
    mnist_split,
)
from .models import (
    Discriminator,
    Generator,
    build_models,
    code_of,
    count_parameters,
    draw_samples,
    init_weights,
    one_hot,
    sample_z,
)
from .notebook import setup, show_source
from .probes import (
    discriminator_features,
    few_label_split,
    kmeans_features,
    linear_svm_accuracy,
)
from .runtime import pick_device, seed_everything
from .shapes_classifier import (
    LEVEL_NAMES,
    FactorClassifier,
    clean_shape_mask,
    describe,
    factor_accuracy,
    factor_probabilities,
    load_factor_classifier,
    parse_concept,
    predict_factors,
)
from .stored_runs import load_stored_runs
from .theory import (
    gaussian_pdf,
    generator_criterion,
    generator_loss_curves,
    jsd,
    kl_divergence,
    optimal_discriminator,
    value_function,
)
from .toy import (
    ToyDiscriminator,
    ToyGenerator,
    compare_on_ring,
    fit_discriminator,
    fraction_near_modes,
    gaussian_1d,
    load_ring_comparison,
    modes_covered,
    ring_centres,
    ring_of_gaussians,
    train_toy_gan,
)
from .train import Trainer, TrainResult, history_summary, train
from .viz import animated_gif_html, plot_history, show_images

__version__ = "0.1.0"
