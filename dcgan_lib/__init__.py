"""dcgan_lib: the small PyTorch library behind the DCGAN course. Notebooks import from here."""
from .data import SyntheticShapes, load_dataset, stack_dataset, to_uint8
from .models import Discriminator, Generator, count_parameters, init_weights
from .notebook import setup
from .train import (CheckpointError, TrainConfig, TrainingDiverged, load_checkpoint, load_discriminator,
                    load_generator, pretrained_path, sample_z, train)
from .viz import plot_history, show_images

__version__ = "0.1.0"
